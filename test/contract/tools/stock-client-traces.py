# Drives the stock client's tracing calls; each step prints a marker so the recording can be split.
import os, time, mlflow
from mlflow import MlflowClient
from mlflow.entities import AssessmentSource
c = MlflowClient()
def mark(s):
    # a recognisable request in the recording: GET /health?step=<s> (harmless, not a tracing call)
    import urllib.request; urllib.request.urlopen(os.environ['MLFLOW_TRACKING_URI'] + '/health?step=' + s).read()
mlflow.set_experiment('traces-demo')
exp = mlflow.get_experiment_by_name('traces-demo').experiment_id

mark('decorated')
@mlflow.trace
def add(a, b):
    return a + b
add(1, 2)

mark('nested-in-run')
@mlflow.trace(name='outer', span_type='CHAIN')
def outer(x):
    with mlflow.start_span(name='inner', span_type='LLM') as s:
        s.set_inputs({'x': x}); s.set_outputs({'y': x * 2}); s.set_attribute('model', 'm1')
        s.add_event(mlflow.entities.SpanEvent('tick', attributes={'n': 1}))
    mlflow.update_current_trace(tags={'team': 'ml', 'stage': 'dev'})
    return x * 2
with mlflow.start_run(run_name='traced-run') as run:
    outer(21)
run_id = run.info.run_id

mark('error')
@mlflow.trace
def boom():
    raise ValueError('bad thing')
try: boom()
except ValueError: pass

mark('manual-span')
with mlflow.start_span(name='manual') as s:
    s.set_inputs({'q': 'hi'}); s.set_outputs('ok')

mark('big')
@mlflow.trace
def big(payload):
    return len(payload)
big('x' * (2 * 1024 * 1024))

mark('search-all')
ts = mlflow.search_traces(locations=[exp], return_type='list')
print('all', len(ts))
mark('search-status')
print('err', len(mlflow.search_traces(locations=[exp], filter_string="trace.status = 'ERROR'", return_type='list')))
mark('search-name')
print('name', len(mlflow.search_traces(locations=[exp], filter_string="trace.name = 'outer'", return_type='list')))
mark('search-tag')
print('tag', len(mlflow.search_traces(locations=[exp], filter_string="tag.team = 'ml'", return_type='list')))
mark('search-time')
print('time', len(mlflow.search_traces(locations=[exp], filter_string=f"trace.timestamp_ms > {int(time.time()*1000) - 3600_000}", return_type='list')))
mark('search-run')
print('run', len(mlflow.search_traces(run_id=run_id, return_type='list')))
mark('search-order-page')
p1 = c.search_traces(locations=[exp], max_results=2, order_by=['timestamp_ms ASC'])
p2 = c.search_traces(locations=[exp], max_results=2, order_by=['timestamp_ms ASC'], page_token=p1.token)
print('pages', len(p1), len(p2), p1.token)
mark('get-trace')
tid = [t for t in ts if t.info.tags.get('team') == 'ml'][0].info.trace_id
t = mlflow.get_trace(tid)
print('spans', [s.name for s in t.data.spans])
mark('get-big')
tb = [x for x in ts if x.data.spans and x.data.spans[0].name == 'big'][0]
print('big ok', tb.data.spans[0].inputs['payload'] == 'x' * (2 * 1024 * 1024))
mark('tags')
c.set_trace_tag(tid, 'k', 'v'); c.delete_trace_tag(tid, 'stage')
mark('feedback')
mlflow.log_feedback(trace_id=tid, name='good', value=True, source=AssessmentSource(source_type='HUMAN', source_id='me'), rationale='fine')
mlflow.log_expectation(trace_id=tid, name='expected', value='42')
mark('get-after')
t = mlflow.get_trace(tid)
print('tags', t.info.tags.get('k'), 'stage' in t.info.tags, 'assessments', len(t.info.assessments))
mark('delete-ids')
err = [x for x in ts if x.info.state.value == 'ERROR'][0].info.trace_id
print('deleted', c.delete_traces(exp, trace_ids=[err]))
mark('delete-ts')
print('deleted', c.delete_traces(exp, max_timestamp_millis=int(time.time()*1000), max_traces=2))
mark('end')
print('left', len(mlflow.search_traces(locations=[exp], return_type='list')))
