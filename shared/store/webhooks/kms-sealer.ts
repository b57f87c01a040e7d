/**
 * Webhook secrets sealed with KMS: apart from ./aws.ts so that the delivery function, which only opens
 * secrets, loads the KMS client alone at cold start, not those of SQS and EventBridge as well.
 */
import {
  DecryptCommand,
  type DecryptCommandOutput,
  EncryptCommand,
  type EncryptCommandOutput,
} from '@aws-sdk/client-kms';
import type { SecretSealer } from '../../domain/webhooks/contracts.js';

export interface KmsSender {
  send(command: EncryptCommand): Promise<EncryptCommandOutput>;
  send(command: DecryptCommand): Promise<DecryptCommandOutput>;
}

/** Marks sealed text as this sealer's, and its format, so that another format is refused by name. */
const KMS_SEALED_PREFIX = 'kms1:';

/** The encryption context key: KMS binds the ciphertext to it, and CloudTrail logs it with every use. */
export const ENCRYPTION_CONTEXT_KEY = 'cairn:webhook';

/**
 * Seals webhook secrets with a KMS key, bound to their webhook by the encryption context: a sealed
 * secret copied onto another webhook's item does not open (KMS refuses a context that differs), and
 * each Decrypt in CloudTrail names the webhook it was for. Secrets are short (MLflow's are strings well
 * under KMS's 4 KiB plaintext cap), so KMS encrypts them directly; no data key is needed.
 */
export class KmsSecretSealer implements SecretSealer {
  constructor(
    private readonly kms: KmsSender,
    private readonly keyId: string,
  ) {}

  async seal(plain: string, webhookId: string): Promise<string> {
    const { CiphertextBlob } = await this.kms.send(
      new EncryptCommand({
        KeyId: this.keyId,
        Plaintext: Buffer.from(plain, 'utf8'),
        EncryptionContext: { [ENCRYPTION_CONTEXT_KEY]: webhookId },
      }),
    );
    if (!CiphertextBlob) throw new Error('KMS Encrypt returned no ciphertext');
    return `${KMS_SEALED_PREFIX}${Buffer.from(CiphertextBlob).toString('base64')}`;
  }

  async open(sealed: string, webhookId: string): Promise<string> {
    if (!sealed.startsWith(KMS_SEALED_PREFIX)) {
      throw new Error(`Webhook ${webhookId}'s secret is not sealed with KMS (${sealed.slice(0, 5)}…)`);
    }
    const { Plaintext } = await this.kms.send(
      new DecryptCommand({
        // Named, so that a ciphertext of any other key is refused rather than opened with it.
        KeyId: this.keyId,
        CiphertextBlob: Buffer.from(sealed.slice(KMS_SEALED_PREFIX.length), 'base64'),
        EncryptionContext: { [ENCRYPTION_CONTEXT_KEY]: webhookId },
      }),
    );
    if (!Plaintext) throw new Error('KMS Decrypt returned no plaintext');
    return Buffer.from(Plaintext).toString('utf8');
  }
}
