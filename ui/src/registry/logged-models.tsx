/** The logged models of an experiment (a tab of the experiment page). (Placeholder.) */
export function LoggedModelsTab(props: { experimentId: string }) {
  return <p class="muted">Logged models of experiment {props.experimentId}</p>;
}
