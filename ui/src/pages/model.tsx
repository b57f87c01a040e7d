/** One registered model: versions, aliases, tags, promotion policies and audit. (Placeholder.) */
import { PageHeader } from '../components/common.js';

export function ModelPage(props: { name: string }) {
  return <PageHeader title={props.name} />;
}
