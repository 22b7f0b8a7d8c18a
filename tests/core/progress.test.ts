/** Progress output when stderr is not a terminal: quiet for fast steps, structured lines with rate and ETA otherwise. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { formatSeconds, Progress, setProgressEnabled, track } from '../../src/core/progress.js';

function captureStderr(): { text: () => string; restore: () => void } {
  let text = '';
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((s) => {
    text += String(s);
    return true;
  });
  return { text: () => text, restore: () => spy.mockRestore() };
}

afterEach(() => {
  vi.useRealTimers();
  setProgressEnabled(false);
});

describe('Progress (not a TTY)', () => {
  it('formats durations', () => {
    expect(formatSeconds(42.4)).toBe('42 s');
    expect(formatSeconds(185)).toBe('3 min 05 s');
    expect(formatSeconds(3720)).toBe('1 h 02 min');
    expect(formatSeconds(Number.NaN)).toBe('?');
  });

  it('prints nothing for a step that ends within a second', () => {
    const err = captureStderr();
    try {
      const p = new Progress('quick', 10);
      p.update(5);
      p.done();
    } finally {
      err.restore();
    }
    expect(err.text()).toBe('');
  });

  it('prints count, percentage, rate and ETA at most every interval, and a final line', () => {
    vi.useFakeTimers({ now: 0 });
    const err = captureStderr();
    try {
      const p = new Progress('k-means', 100, { everySeconds: 10, unit: 'iter' });
      vi.setSystemTime(2000);
      p.update(20); // first line: 20 in 2 s = 10 iter/s, 80 left = 8 s
      vi.setSystemTime(5000);
      p.update(50); // within 10 s of the last line: quiet
      vi.setSystemTime(12_500);
      p.update(75, 'inertia 1.0');
      vi.setSystemTime(16_000);
      p.done();
    } finally {
      err.restore();
    }
    expect(err.text().split('\n').filter(Boolean)).toEqual([
      'k-means: 20/100 (20%) 2 s, 10 iter/s, ETA 8 s',
      'k-means: 75/100 (75%) 13 s, 6.00 iter/s, ETA 4 s inertia 1.0',
      'k-means: 100/100 (100%) 16 s, 6.25 iter/s',
    ]);
  });

  it('track is silent until a front end turns reporting on', () => {
    vi.useFakeTimers({ now: 0 });
    const err = captureStderr();
    try {
      const off = track('off', 4);
      vi.setSystemTime(3000);
      off.update(2);
      off.done();
      setProgressEnabled(true);
      const on = track('reading x.csv', 4e6, { unit: 'MB', scale: 1e6 });
      vi.setSystemTime(5000);
      on.update(2e6);
      on.done();
    } finally {
      err.restore();
    }
    expect(err.text()).toBe(
      'reading x.csv: 2.0/4.0 (50%) 2 s, 1.00 MB/s, ETA 2 s\nreading x.csv: 4.0/4.0 (100%) 2 s, 2.00 MB/s\n',
    );
  });
});
