/** Registered models: search and list. (Placeholder until the page lands.) */
import { PageHeader } from '../components/common.js';

export function ModelsPage() {
  return <PageHeader title="Registered models" />;
}
