import { describe, expect, it } from 'vitest';
import type { OtelSpan } from '../../../../shared/domain/traces/otlp.js';
import { summarizeSpans } from '../../../../shared/domain/traces/service.js';

function span(startMs: number, parent = true): OtelSpan {
  return {
    trace_id: 'ab'.repeat(16),
    span_id: startMs.toString(16).padStart(16, '0'),
    ...(parent ? { parent_span_id: '1'.repeat(16) } : {}),
    name: 's',
    start_time_unix_nano: `${startMs}000000`,
  };
}

describe('summarizeSpans', () => {
  it('finds the earliest start of a batch too large to spread as arguments', () => {
    // Math.min(...starts) overflows the stack at about this size.
    const spans = Array.from({ length: 200_000 }, (_, i) => span(1_800_000_000_000 + 200_000 - i));
    expect(summarizeSpans(spans).earliestStartMs).toBe(1_800_000_000_001);
  });

  it('takes the root span for the trace when the batch has one', () => {
    const summary = summarizeSpans([span(1_800_000_000_005), span(1_800_000_000_007, false)]);
    expect(summary.earliestStartMs).toBe(1_800_000_000_005);
    expect(summary.root?.startMs).toBe(1_800_000_000_007);
  });
});
