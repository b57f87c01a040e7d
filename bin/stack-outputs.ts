/**
 * A deployed stack's CloudFormation outputs, for `cairn doctor --stack` and `cairn env --stack`. When the
 * stack cannot be read the error says why in the user's terms (no credentials, another Region, never
 * deployed because the account and Region were not bootstrapped), since that is what they must fix.
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { TokenStoreUnavailableError } from './token-stores.js';

export const TRACKING_URI_OUTPUT = 'TrackingUri';

export interface StackOutputs {
  stackName: string;
  /** The Region the SDK resolved (from --region or the usual chain). */
  region: string;
  outputs: Record<string, string>;
}

export async function readStackOutputs(stackName: string, region?: string): Promise<StackOutputs> {
  const client = new CloudFormationClient(region ? { region } : {});
  try {
    const resolvedRegion = await client.config.region().catch(() => region ?? '');
    let stacks: Awaited<ReturnType<typeof describe>>;
    try {
      stacks = await describe(client, stackName);
    } catch (error) {
      throw new TokenStoreUnavailableError(
        `Could not read the stack '${stackName}'${resolvedRegion ? ` in ${resolvedRegion}` : ''}: ${errorText(error)}. ${await stackFix(client, error, resolvedRegion)}`,
        { cause: error },
      );
    }
    const outputs: Record<string, string> = {};
    for (const output of stacks?.[0]?.Outputs ?? []) {
      if (output.OutputKey && output.OutputValue !== undefined)
        outputs[output.OutputKey] = output.OutputValue;
    }
    if (!outputs[TRACKING_URI_OUTPUT]) {
      throw new TokenStoreUnavailableError(
        `The stack '${stackName}' has no ${TRACKING_URI_OUTPUT} output. Is it Cairn's API stack (CairnApi), deployed from this version?`,
      );
    }
    return { stackName, region: resolvedRegion, outputs };
  } finally {
    client.destroy();
  }
}

async function describe(client: CloudFormationClient, stackName: string) {
  return (await client.send(new DescribeStacksCommand({ StackName: stackName }))).Stacks;
}

const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** What to do about a stack that could not be read: the likely cause first. */
async function stackFix(client: CloudFormationClient, error: unknown, region: string): Promise<string> {
  const text = errorText(error);
  if (/does not exist/i.test(text)) {
    // A stack that is not there: deployed elsewhere, or never deployed. cdk bootstrap's stack tells which.
    const bootstrapped = await describe(client, 'CDKToolkit').then(
      () => true,
      () => false,
    );
    return bootstrapped
      ? `Check the stack name and the Region (--region, AWS_REGION or the profile's region): ${region || 'this Region'} is bootstrapped but holds no such stack; deploy with npx cdk deploy --all.`
      : `${region || 'This Region'} is not bootstrapped for the CDK (no CDKToolkit stack): if the stack lives in another Region pass --region; otherwise run npx cdk bootstrap, then npx cdk deploy --all.`;
  }
  if (/credential|token is expired|security token/i.test(text)) {
    return 'Give AWS credentials: AWS_PROFILE=..., aws sso login, or the instance role.';
  }
  if (/signature expired|time too skewed|clock/i.test(text)) {
    return "This machine's clock is off: AWS refuses signatures more than 15 minutes from its time; sync it (e.g. timedatectl set-ntp true).";
  }
  if (/region/i.test(text)) return 'Pass --region (or set AWS_REGION).';
  if (/denied|not authorized/i.test(text)) {
    return 'The credentials need cloudformation:DescribeStacks on the stack.';
  }
  return '';
}
