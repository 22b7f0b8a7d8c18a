// Draws report.html's charts with ECharts from the report JSON inlined in the page.
// Every chart container gets data-rendered="true" once ECharts has finished drawing it.
(() => {
  const report = JSON.parse(document.getElementById('semid-report').textContent);
  const repro = JSON.parse(document.getElementById('semid-repro').textContent);
  const root = document.getElementById('report');
  const schemes = report.schemes;
  const names = schemes.map((s) => s.scheme);
  const palette = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f'];
  const colour = (i) => palette[i % palette.length];
  const charts = [];

  const el = (tag, attrs, text) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const section = (title, note) => {
    const s = el('section');
    s.appendChild(el('h2', {}, title));
    if (note) s.appendChild(el('p', { class: 'note' }, note));
    root.appendChild(s);
    const grid = el('div', { class: 'grid' });
    s.appendChild(grid);
    return { section: s, grid };
  };
  const chart = (parent, id, title, option, wide) => {
    const box = el('figure', { class: wide ? 'wide' : '' });
    box.appendChild(el('figcaption', {}, title));
    const div = el('div', { class: 'chart', id, 'data-rendered': 'false' });
    box.appendChild(div);
    parent.appendChild(box);
    const c = echarts.init(div, null, { renderer: 'canvas' });
    c.on('finished', () => div.setAttribute('data-rendered', 'true'));
    c.setOption({ color: palette, animation: false, ...option });
    charts.push(c);
    return c;
  };
  const val = (m) => (m && m.n > 0 && m.mean !== null ? m.mean : null);
  const sd = (m) => (m && m.n > 1 && m.std !== null ? m.std : 0);
  const fmt = (x, d) => (x === null || x === undefined ? '-' : Number(x).toFixed(d));
  const keysOf = (pick) => {
    const seen = [];
    for (const s of schemes) for (const k of Object.keys(pick(s))) if (!seen.includes(k)) seen.push(k);
    return seen;
  };

  // A custom series drawing vertical whiskers over grouped bars: series i of n in each category.
  const barWhiskers = (i, n, data) => ({
    type: 'custom',
    name: names[i],
    silent: true,
    z: 10,
    data: data.map((d, c) => [c, d.mean - d.std, d.mean + d.std, d.std]),
    renderItem: (_params, api) => {
      if (!(api.value(3) > 0)) return null;
      const band = api.size([1, 0])[0];
      const w = (band * 0.7) / n;
      const x = api.coord([api.value(0), 0])[0] - band * 0.35 + (i + 0.5) * w;
      const lo = api.coord([api.value(0), api.value(1)])[1];
      const hi = api.coord([api.value(0), api.value(2)])[1];
      const cap = Math.min(6, w / 3);
      const style = { stroke: '#222', lineWidth: 1 };
      return {
        type: 'group',
        children: [
          { type: 'line', shape: { x1: x, y1: lo, x2: x, y2: hi }, style },
          { type: 'line', shape: { x1: x - cap, y1: lo, x2: x + cap, y2: lo }, style },
          { type: 'line', shape: { x1: x - cap, y1: hi, x2: x + cap, y2: hi }, style },
        ],
      };
    },
  });

  // Grouped bars: categories on x, one bar per scheme, whiskers when there are several seeds.
  const groupedBars = (categories, pick, yName) => {
    const series = [];
    schemes.forEach((s, i) => {
      const d = categories.map((k) => ({ mean: val(pick(s)[k]), std: sd(pick(s)[k]) }));
      series.push({ type: 'bar', name: s.scheme, data: d.map((x) => x.mean), barGap: '0%', barCategoryGap: '30%' });
      if (d.some((x) => x.std > 0)) series.push(barWhiskers(i, schemes.length, d));
    });
    return {
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, valueFormatter: (v) => fmt(v, 4) },
      legend: { top: 0, data: names },
      grid: { left: 56, right: 16, top: 40, bottom: 40 },
      xAxis: { type: 'category', data: categories },
      yAxis: { type: 'value', name: yName, scale: false },
      series,
    };
  };

  // 1. Accuracy against cost.
  {
    const { grid } = section(
      'Accuracy against cost',
      'Each point is a scheme: test accuracy against wall time to build its index and train its model. Whiskers: one standard deviation over seeds.',
    );
    for (const metric of ['recall@10', 'ndcg@10']) {
      const pts = schemes.map((s) => {
        const ix = s.seconds.index;
        const tr = s.seconds.train;
        const cost = (val(ix) ?? 0) + (val(tr) ?? 0);
        const costSd = Math.sqrt(sd(ix) ** 2 + sd(tr) ** 2);
        return { name: s.scheme, cost, costSd, y: val(s.metrics[metric]), ySd: sd(s.metrics[metric]) };
      });
      if (!pts.some((p) => p.y !== null)) continue;
      const series = pts.map((p, i) => ({
        type: 'scatter',
        name: p.name,
        symbolSize: 12,
        itemStyle: { color: colour(i) },
        label: { show: true, formatter: p.name, position: 'right' },
        data: [[p.cost, p.y, p.costSd, p.ySd]],
      }));
      series.push({
        type: 'custom',
        name: 'spread',
        silent: true,
        data: pts.map((p) => [p.cost, p.y, p.costSd, p.ySd]),
        renderItem: (params, api) => {
          const [x, y, dx, dy] = [api.value(0), api.value(1), api.value(2), api.value(3)];
          const c = api.coord([x, y]);
          const style = { stroke: colour(params.dataIndex), lineWidth: 1.5 };
          const kids = [];
          if (dy > 0) {
            const lo = api.coord([x, y - dy])[1];
            const hi = api.coord([x, y + dy])[1];
            kids.push({ type: 'line', shape: { x1: c[0], y1: lo, x2: c[0], y2: hi }, style });
          }
          if (dx > 0) {
            const l = api.coord([x - dx, y])[0];
            const r = api.coord([x + dx, y])[0];
            kids.push({ type: 'line', shape: { x1: l, y1: c[1], x2: r, y2: c[1] }, style });
          }
          return { type: 'group', children: kids };
        },
      });
      chart(grid, `cost-${metric}`, `${metric} against index + training time`, {
        tooltip: {
          trigger: 'item',
          formatter: (p) =>
            p.seriesType === 'scatter'
              ? `${p.seriesName}<br>${metric} ${fmt(p.value[1], 4)} ± ${fmt(p.value[3], 4)}<br>index + train ${fmt(p.value[0], 1)} s ± ${fmt(p.value[2], 1)}`
              : '',
        },
        grid: { left: 64, right: 80, top: 24, bottom: 48 },
        xAxis: { type: 'value', name: 'index + train (s)', nameLocation: 'middle', nameGap: 28, scale: true },
        yAxis: { type: 'value', name: metric, scale: true },
        series,
      });
    }
    const stages = keysOf((s) => s.seconds);
    if (stages.length > 0) {
      chart(grid, 'cost-stages', 'Wall time per stage (s)', {
        ...groupedBars(names, () => ({}), 's'),
        legend: { top: 0, data: stages },
        tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, valueFormatter: (v) => fmt(v, 1) },
        series: stages.map((st) => ({
          type: 'bar',
          stack: 'time',
          name: st,
          data: schemes.map((s) => val(s.seconds[st])),
        })),
      });
    }
  }

  // 2. Accuracy at every cutoff, slices, coverage, history items.
  {
    const { grid } = section('Accuracy at 5, 10 and 20', 'Test metrics per scheme, grouped by metric.');
    const metricKeys = keysOf((s) => s.metrics);
    const main = metricKeys.filter((k) => /^(recall|ndcg|mrr|hit)@\d+$/.test(k));
    const groups = [
      ['main', 'Recall and NDCG', main],
      ['excl', 'With history items excluded', metricKeys.filter((k) => k.startsWith('exclHist.'))],
      ['slices', 'Head and tail items (by training popularity)', metricKeys.filter((k) => /^(head|tail)\./.test(k))],
      ['coverage', 'Catalogue coverage of the top-k lists', metricKeys.filter((k) => k.startsWith('coverage@'))],
      [
        'history',
        'History items per top-k list (and share of targets in the history)',
        metricKeys.filter((k) => k.startsWith('history@') || k === 'targetInHistory'),
      ],
      ['invalid', 'Invalid codes (unconstrained decoding)', metricKeys.filter((k) => k.startsWith('invalid'))],
    ];
    for (const [id, title, keys] of groups) {
      if (keys.length === 0) continue;
      chart(
        grid,
        `metrics-${id}`,
        title,
        groupedBars(keys, (s) => s.metrics, ''),
        keys.length > 6,
      );
    }
  }

  // 3. Index quality.
  {
    const { grid } = section(
      'Index quality',
      'Per level: share of the codebook used and perplexity (exp of the entropy of the values). Collision rate: share of items sharing a code before collision handling.',
    );
    const indexKeys = keysOf((s) => s.index);
    const levels = indexKeys
      .filter((k) => k.startsWith('util@L'))
      .map((k) => k.slice(5))
      .sort();
    if (levels.length > 0) {
      const util = {};
      const perp = {};
      for (const s of schemes) {
        util[s.scheme] = {};
        perp[s.scheme] = {};
        for (const l of levels) {
          util[s.scheme][l] = s.index[`util@${l}`];
          perp[s.scheme][l] = s.index[`perplexity@${l}`];
        }
      }
      chart(
        grid,
        'index-util',
        'Codebook utilization per level',
        groupedBars(levels, (s) => util[s.scheme], 'used / size'),
      );
      chart(
        grid,
        'index-perplexity',
        'Perplexity per level',
        groupedBars(levels, (s) => perp[s.scheme], 'perplexity'),
      );
    }
    const single = ['collisionRateBefore', 'dedupShare', 'maxItemsPerCode', 'prefixCoherence'].filter((k) =>
      indexKeys.includes(k),
    );
    for (const k of single) {
      chart(
        grid,
        `index-${k}`,
        k,
        groupedBars([k], (s) => s.index, ''),
      );
    }
    const perCode = report.runs.filter((r) => r.series && Array.isArray(r.series.itemsPerL0));
    if (perCode.length > 0) {
      const firstSeed = names.map((n) => perCode.find((r) => r.scheme === n)).filter(Boolean);
      chart(
        grid,
        'index-items-per-code',
        'Items under each first-level code, largest first (first seed)',
        {
          tooltip: { trigger: 'axis' },
          legend: { top: 0, data: firstSeed.map((r) => r.scheme) },
          grid: { left: 56, right: 16, top: 40, bottom: 40 },
          xAxis: { type: 'value', name: 'code rank', nameLocation: 'middle', nameGap: 26, min: 1 },
          yAxis: { type: 'log', name: 'items', min: 1 },
          series: firstSeed.map((r) => ({
            type: 'line',
            name: r.scheme,
            showSymbol: false,
            step: 'end',
            data: r.series.itemsPerL0.map((n, i) => [i + 1, n]),
          })),
        },
        true,
      );
    }
  }

  // 4. Training curves.
  {
    const curves = report.runs.filter((r) => r.series && Array.isArray(r.series.loss) && r.series.loss.length > 0);
    if (curves.length > 0) {
      const { grid } = section('Training', 'Per epoch: training loss and validation NDCG@10 of every run.');
      const line = (key) =>
        curves.map((r) => ({
          type: 'line',
          name: `${r.scheme} s${r.seed}`,
          connectNulls: true,
          itemStyle: { color: colour(names.indexOf(r.scheme)) },
          lineStyle: { type: r.seed === curves.find((c) => c.scheme === r.scheme).seed ? 'solid' : 'dashed' },
          data: r.series[key].map((v, i) => [i + 1, v]),
        }));
      const opt = (key, name) => ({
        tooltip: { trigger: 'axis', valueFormatter: (v) => fmt(v, 4) },
        legend: { top: 0, type: 'scroll' },
        grid: { left: 56, right: 16, top: 40, bottom: 40 },
        xAxis: { type: 'value', name: 'epoch', nameLocation: 'middle', nameGap: 26, minInterval: 1, min: 1 },
        yAxis: { type: 'value', name, scale: true },
        series: line(key),
      });
      chart(grid, 'train-loss', 'Training loss', opt('loss', 'loss'));
      if (curves.some((r) => Array.isArray(r.series.valid) && r.series.valid.some((v) => v !== null))) {
        chart(grid, 'train-valid', 'Validation NDCG@10', opt('valid', 'NDCG@10'));
      }
    }
  }

  // 5. Configuration, reproduction, failures.
  {
    const s = el('section');
    s.appendChild(el('h2', {}, 'Configuration and reproduction'));
    s.appendChild(el('p', {}, 'Save the configuration below as compare.json, then run:'));
    s.appendChild(el('pre', { id: 'repro-command' }, repro.command));
    s.appendChild(el('pre', { id: 'repro-config' }, JSON.stringify(repro.configFile, null, 2)));
    const table = el('table');
    const head = el('tr');
    for (const h of ['scheme', 'seed', 'index (s)', 'train (s)', 'eval (s)', 'epochs', 'recall@10', 'ndcg@10']) {
      head.appendChild(el('th', {}, h));
    }
    table.appendChild(head);
    for (const r of report.runs) {
      const tr = el('tr');
      const cells = [
        r.scheme,
        String(r.seed),
        fmt(r.seconds.index, 1),
        fmt(r.seconds.train, 1),
        fmt(r.seconds.eval, 1),
        r.extra && r.extra.epochs !== undefined ? String(r.extra.epochs) : '-',
        fmt(r.metrics['recall@10'], 4),
        fmt(r.metrics['ndcg@10'], 4),
      ];
      for (const c of cells) tr.appendChild(el('td', {}, c));
      table.appendChild(tr);
    }
    s.appendChild(el('h3', {}, 'Runs'));
    s.appendChild(table);
    if (report.failures.length > 0) {
      s.appendChild(el('h3', {}, 'Failures'));
      const ul = el('ul', { class: 'failures' });
      for (const f of report.failures) ul.appendChild(el('li', {}, `${f.scheme} (seed ${f.seed}): ${f.error}`));
      s.appendChild(ul);
    }
    root.appendChild(s);
  }

  window.addEventListener('resize', () => {
    for (const c of charts) c.resize();
  });
})();
