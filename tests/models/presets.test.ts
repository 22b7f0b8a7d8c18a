import { describe, expect, it } from 'vitest';
import { resolveModelConfig } from '../../models/config.js';
import { applyPreset, codeBucketsFor, nextPrime, PRESET_NAMES, presetConfig } from '../../models/presets.js';

describe('model presets', () => {
  it('nextPrime and codeBucketsFor: the smallest prime >= 5 x items', () => {
    expect([nextPrime(2), nextPrime(8), nextPrime(13), nextPrime(24)]).toEqual([2, 11, 13, 29]);
    expect(codeBucketsFor(12101)).toBe(60509);
    expect(codeBucketsFor(1682)).toBe(8419);
    expect(codeBucketsFor(200)).toBe(1009);
  });

  it('every preset resolves to a valid model config', () => {
    for (const name of PRESET_NAMES) {
      const cfg = resolveModelConfig(presetConfig(name, 500));
      expect(cfg.arch).toBe('item');
      expect(cfg.dense).toBeGreaterThan(0);
    }
  });

  it('quality is the best measured recipe: 4 layers, FFN 512, code buckets from the catalogue, dense head with repeat bias', () => {
    expect(presetConfig('quality', 12101)).toMatchObject({
      arch: 'item',
      layers: 4,
      ffn: 512,
      dropout: 0.2,
      codeBuckets: 60509,
      dense: 0.5,
      denseRepeat: true,
    });
  });

  it('a config file and flags apply over the preset', () => {
    const c = resolveModelConfig(applyPreset('quality', 100, { epochs: 3, layers: 1 }));
    expect([c.epochs, c.layers, c.ffn]).toEqual([3, 1, 512]);
  });

  it('another architecture drops the preset fields only the item-level model has', () => {
    const c = resolveModelConfig(applyPreset('quality', 100, { arch: 'decoder' }));
    expect([c.arch, c.codeBuckets, c.dense, c.denseRepeat]).toEqual(['decoder', 0, 0, false]);
  });

  it('an unknown preset names the valid ones', () => {
    expect(() => presetConfig('best', 10)).toThrow(/unknown preset "best"; use one of "quality", "fast"/);
  });
});
