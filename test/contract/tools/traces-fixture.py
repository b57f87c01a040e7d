# Turns a recording-proxy log (JSON lines) of stock-client-traces.py against MLflow's own server into
# test/fixtures/stock-client-traces.json: requests as sent, the reference server's status and answer.
# Trimmed for the repository: OTLP protobuf bodies are gzipped (a 2 MB span compresses to a few KB) and the
# 2 MB input string in JSON answers is written as "{{2MB x}}". No secrets: the script uses no token.
# Usage: python3 traces-fixture.py rec.jsonl > test/fixtures/stock-client-traces.json
import base64, gzip, json, sys
BIG = 'x' * (2 * 1024 * 1024)
out = []
step = 'setup'
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r['path'].startswith('/health?step='):
        step = r['path'].split('=', 1)[1]
        continue
    entry = {'step': step, 'method': r['method'], 'path': r['path'], 'headers': r['headers'], 'status': r['status']}
    if 'body' in r:
        entry['body'] = r['body']
    elif r.get('body_b64'):
        entry['body_gzip_base64'] = base64.b64encode(gzip.compress(base64.b64decode(r['body_b64']), mtime=0)).decode()
    response = r.get('response')
    if response:
        try:
            entry['response'] = json.loads(response.replace(BIG, '{{2MB x}}'))
        except ValueError:
            entry['response_text'] = response
    out.append(entry)
json.dump(out, sys.stdout, indent=2)
