import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EtaEstimator, formatDuration, Progress } from '../../src/cli/progress';

describe('formatDuration', () => {
  it('rounds before splitting: never 60s or 60m', () => {
    for (let t = 0; t < 5 * 3600; t += 0.7) {
      const text = formatDuration(t);
      assert.doesNotMatch(text, /(^|[hm])60[sm]$/, `${t} s gave ${text}`);
    }
  });

  it('reads as people write durations', () => {
    assert.equal(formatDuration(0.4), '0s');
    assert.equal(formatDuration(45), '45s');
    assert.equal(formatDuration(59.6), '1m00s');
    assert.equal(formatDuration(245), '4m05s');
    assert.equal(formatDuration(1439.6), '24m');
    assert.equal(formatDuration(3599.7), '1h00m');
    assert.equal(formatDuration(5400), '1h30m');
  });
});

describe('EtaEstimator', () => {
  it('has no estimate in the first seconds', () => {
    let now = 0;
    const eta = new EtaEstimator(100, () => now);
    now = 1000;
    eta.observe(10);
    assert.equal(eta.remainingSeconds(), undefined);
    assert.equal(eta.remainingText(), '-');
  });

  it('stays steady when records arrive in chunks of uneven duration', () => {
    // 2000 records in chunks of 40 that take 4 s and 16 s in turn: 4 records/s on average, each
    // chunk's records arriving in the same millisecond.
    let now = 0;
    const eta = new EtaEstimator(2000, () => now);
    const estimates: number[] = [];
    let done = 0;
    for (let chunk = 0; done < 1600; chunk++) {
      now += chunk % 2 === 0 ? 4000 : 16_000;
      for (let i = 0; i < 40; i++) eta.observe(++done);
      const left = eta.remainingSeconds();
      if (now >= 120_000 && left !== undefined) estimates.push(left + now / 1000);
    }
    // Each estimate of the finishing time, made after two minutes, is within 20% of the truth
    // (500 s), and no two consecutive ones differ by more than 10%.
    assert.ok(estimates.length > 20);
    for (const finish of estimates) assert.ok(Math.abs(finish - 500) / 500 < 0.2, `finish estimated at ${finish.toFixed(0)} s`);
    for (let i = 1; i < estimates.length; i++) {
      assert.ok(Math.abs(estimates[i] - estimates[i - 1]) / estimates[i - 1] < 0.1, `jump from ${estimates[i - 1].toFixed(0)} to ${estimates[i].toFixed(0)}`);
    }
  });
});

describe('Progress (plain lines, not a terminal)', () => {
  it('writes the first and the last record at once, nothing between within 5 s, and nothing when quiet', () => {
    const written: string[] = [];
    const write = process.stderr.write;
    const wasTTY = process.stderr.isTTY;
    Object.defineProperty(process.stderr, 'isTTY', { value: false, configurable: true });
    process.stderr.write = ((chunk: string) => (written.push(String(chunk)), true)) as typeof process.stderr.write;
    try {
      const progress = new Progress(5000, 'scoring');
      for (let done = 1; done <= 5000; done++) progress.update(done, done * 100);
      const quiet = new Progress(10, 'quiet', true);
      for (let done = 1; done <= 10; done++) quiet.update(done, done);
    } finally {
      process.stderr.write = write;
      Object.defineProperty(process.stderr, 'isTTY', { value: wasTTY, configurable: true });
    }
    assert.equal(written.length, 2, written.join(''));
    assert.match(written[0] as string, /^scoring: 1\/5000 records \(0%\), [\d,]+ tok\/s\n$/);
    assert.match(written[1] as string, /^scoring: 5000\/5000 records \(100%\), [\d,]+ tok\/s\n$/);
  });
});
