/**
 * The principal directory: one item per token, its name and scope and never its hash (`pk = PRINCIPALS`,
 * `sk = PRINCIPAL#<name>`). A grant must name a principal that exists, and the API functions that write
 * grants are denied the TOKENS partition (infra/stacks/api-stack.ts: a flaw in them must not read token
 * hashes), so they ask this directory instead. The token store writes an entry with each token and removes
 * it on revoke; `cairn permission` fills in entries for tokens created before the directory existed.
 *
 * Low-level client and hand-written attribute values, as the token store: it is part of that store's
 * writes, and the authorizer's bundle carries the token store.
 */
import {
  type AttributeValue,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { isScope, type Scope } from '../../auth/scopes.js';
import { keys } from '../keys.js';

export interface PrincipalEntry {
  name: string;
  scope: Scope;
}

export interface PrincipalDirectory {
  /** The principal's entry (strongly consistent), or undefined when no token has that name. */
  get(name: string): Promise<PrincipalEntry | undefined>;
}

function keyOf(name: string): Record<string, AttributeValue> {
  const { pk, sk } = keys.principal(name);
  return { pk: { S: pk }, sk: { S: sk } };
}

/** Writes (or rewrites) a principal's entry: idempotent, so a retried create or a backfill is harmless. */
export async function putPrincipal(client: DynamoDBClient, tableName: string, entry: PrincipalEntry) {
  await client.send(
    new PutItemCommand({
      TableName: tableName,
      Item: { ...keyOf(entry.name), name: { S: entry.name }, scope: { S: entry.scope } },
    }),
  );
}

/** Removes a principal's entry, if any (revoking twice, or a token from before the directory). */
export async function deletePrincipal(client: DynamoDBClient, tableName: string, name: string) {
  await client.send(new DeleteItemCommand({ TableName: tableName, Key: keyOf(name) }));
}

export class DynamoPrincipalDirectory implements PrincipalDirectory {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async get(name: string): Promise<PrincipalEntry | undefined> {
    const { Item } = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: keyOf(name), ConsistentRead: true }),
    );
    const scope = Item?.scope?.S;
    return Item?.name?.S === name && isScope(scope) ? { name, scope } : undefined;
  }
}
