# Recording proxy: forwards to the reference MLflow server and appends each exchange as one JSON line.
import base64, gzip, http.server, json, sys, urllib.request, urllib.error
UP = sys.argv[2]; OUT = sys.argv[3]
KEEP = {'content-type', 'content-encoding', 'x-mlflow-experiment-id'}
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    def _do(self):
        n = int(self.headers.get('content-length') or 0)
        body = self.rfile.read(n) if n else b''
        req = urllib.request.Request(UP + self.path, data=body if n else None, method=self.command)
        for k, v in self.headers.items():
            if k.lower() not in ('host', 'content-length', 'connection', 'accept-encoding'): req.add_header(k, v)
        try:
            r = urllib.request.urlopen(req); status = r.status; rh = dict(r.headers); rb = r.read()
        except urllib.error.HTTPError as e:
            status = e.code; rh = dict(e.headers); rb = e.read()
        rec = {'method': self.command, 'path': self.path,
               'headers': {k.lower(): v for k, v in self.headers.items() if k.lower() in KEEP},
               'status': status, 'response_type': rh.get('Content-Type')}
        ct = (self.headers.get('content-type') or '')
        if 'json' in ct: rec['body'] = body.decode()
        elif body: rec['body_b64'] = base64.b64encode(body).decode()
        try: rec['response'] = rb.decode()
        except Exception: rec['response_b64'] = base64.b64encode(rb).decode()
        with open(OUT, 'a') as f: f.write(json.dumps(rec) + '\n')
        self.send_response(status)
        for k, v in rh.items():
            if k.lower() not in ('content-length', 'transfer-encoding', 'connection', 'date', 'server'): self.send_header(k, v)
        self.send_header('Content-Length', str(len(rb))); self.end_headers(); self.wfile.write(rb)
    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _do
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(('127.0.0.1', int(sys.argv[1])), H).serve_forever()
