/** One model version. (Placeholder until the page lands.) */
import { PageHeader } from '../components/common.js';

export function VersionPage(props: { name: string; version: string }) {
  return <PageHeader title={`${props.name} version ${props.version}`} />;
}
