/** The app shell: header, and the page the hash route names. */
export function App() {
  return (
    <main>
      <h1>Cairn</h1>
    </main>
  );
}
