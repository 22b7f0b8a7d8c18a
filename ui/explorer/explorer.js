// The semid ID explorer: code tree, item search with siblings and neighbours, a history with live
// recommendations (POST v1/recommend) and the 2-D item map. Every request path is relative, so the
// page works wherever the app is mounted.
(() => {
  const $ = (id) => document.getElementById(id);
  const state = { bundle: undefined, levels: [], prefix: [], history: [], titles: new Map(), recSeq: 0 };
  const palette = [
    '#4e79a7',
    '#f28e2b',
    '#e15759',
    '#76b7b2',
    '#59a14f',
    '#edc948',
    '#b07aa1',
    '#ff9da7',
    '#9c755f',
    '#bab0ac',
  ];
  const charts = {};

  async function api(path, body) {
    const init =
      body === undefined
        ? {}
        : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
    const r = await fetch(path, init);
    const j = await r.json();
    if (!r.ok) throw new Error(j.message || `${r.status} ${path}`);
    return { status: r.status, body: j };
  }
  const q = (params) => {
    const u = new URLSearchParams();
    if (state.bundle) u.set('bundle', state.bundle);
    for (const [k, v] of Object.entries(params)) if (v !== undefined) u.set(k, String(v));
    return `?${u}`;
  };
  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const codeEl = (code) => {
    const s = el('span', 'code');
    for (const v of code) s.appendChild(el('b', '', String(v)));
    return s;
  };
  const chart = (id) => {
    if (!charts[id] && window.echarts) charts[id] = echarts.init($(id));
    return charts[id];
  };
  // Some catalogues keep HTML entities in titles (&amp;): shown decoded, never parsed as markup.
  const decoder = document.createElement('textarea');
  const decode = (s) => {
    if (!s.includes('&')) return s;
    decoder.innerHTML = s;
    return decoder.value;
  };
  const remember = (items) => {
    for (const x of items) {
      if (x.title !== undefined) {
        x.title = decode(x.title);
        state.titles.set(x.item, x.title);
      }
    }
  };
  const label = (x) => x.title || state.titles.get(x.item) || x.item;

  // One clickable item row: opens the item; "+" adds it to the history.
  function itemRow(x, extra) {
    const li = el('li');
    li.dataset.item = x.item;
    if (x.code) li.appendChild(codeEl(x.code));
    li.appendChild(el('span', 't', label(x)));
    if (extra !== undefined) li.appendChild(el('span', 'n', extra));
    const add = el('button', 'add', '+');
    add.type = 'button';
    add.title = 'add to history';
    add.addEventListener('click', (ev) => {
      ev.stopPropagation();
      addToHistory(x);
    });
    li.appendChild(add);
    li.addEventListener('click', () => openItem(x.item));
    return li;
  }
  const fill = (list, rows, empty) => {
    list.replaceChildren(...rows);
    if (rows.length === 0 && empty) list.appendChild(el('li', 'muted empty', empty));
  };

  // ---- code tree ----
  async function showPrefix(prefix) {
    state.prefix = prefix;
    const { body: node } = await api(`ui/api/tree${q({ prefix: prefix.join('-') })}`);
    if (node.prefix.join('-') !== state.prefix.join('-')) return; // a newer click won
    remember(node.items || []);
    const crumbs = $('crumbs');
    crumbs.replaceChildren();
    const root = el('a', '', 'all');
    root.addEventListener('click', () => showPrefix([]));
    crumbs.appendChild(root);
    prefix.forEach((v, i) => {
      crumbs.appendChild(document.createTextNode(' / '));
      const a = el('a', '', `L${i}=${v}`);
      a.addEventListener('click', () => showPrefix(prefix.slice(0, i + 1)));
      crumbs.appendChild(a);
    });
    crumbs.appendChild(
      el('span', 'muted', `  ${node.total} items, ${node.children.length} codes at level ${prefix.length}`),
    );
    const deeper = prefix.length < state.levels.length - 1;
    fill(
      $('tree-list'),
      node.children.map((c) => {
        const li = el('li');
        li.dataset.value = String(c.value);
        li.appendChild(el('span', 'v', String(c.value)));
        li.appendChild(el('span', 'n', String(c.count)));
        c.examples = c.examples.map(decode);
        li.appendChild(el('span', 't', c.examples.join(' · ')));
        li.addEventListener('click', () =>
          deeper ? showPrefix([...prefix, c.value]) : openItemAt([...prefix, c.value], node),
        );
        return li;
      }),
    );
    const items = node.items || [];
    $('node-items-title').hidden = items.length === 0;
    fill(
      $('node-items'),
      items.map((x) => itemRow(x)),
    );
    state.node = node;
    drawTreemap();
  }
  function drawTreemap() {
    const node = state.node;
    const prefix = node.prefix;
    const deeper = prefix.length < state.levels.length - 1;
    const tm = chart('treemap');
    if (tm) {
      tm.setOption(
        {
          animation: false,
          tooltip: { formatter: (p) => `${p.name}: ${p.value} items<br>${(p.data.examples || []).join('<br>')}` },
          series: [
            {
              type: 'treemap',
              roam: false,
              nodeClick: false,
              breadcrumb: { show: false },
              top: 0,
              left: 0,
              width: '100%',
              height: '100%',
              label: {
                show: true,
                formatter: (p) => `${p.name}\n${p.data.examples[0] || ''}`,
                fontSize: 11,
                overflow: 'truncate',
              },
              upperLabel: { show: false },
              levels: [
                { colorSaturation: [0.35, 0.6], itemStyle: { borderColor: '#fff', borderWidth: 1, gapWidth: 1 } },
              ],
              data: node.children.map((c, i) => ({
                name: String(c.value),
                value: c.count,
                examples: c.examples,
                itemStyle: { color: palette[(prefix.length === 0 ? c.value : i) % palette.length] },
              })),
            },
          ],
        },
        true,
      );
      tm.off('click');
      tm.on('click', (p) => {
        const v = Number(p.name);
        if (deeper) showPrefix([...prefix, v]);
        else openItemAt([...prefix, v], node);
      });
    }
  }
  function openItemAt(code, node) {
    const x = (node.items || []).find((i) => i.code.join('-') === code.join('-'));
    if (x) openItem(x.item);
  }

  // ---- search and item detail ----
  let searchTimer;
  $('search').addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(async () => {
      const text = $('search').value;
      const { body } = await api(`ui/api/search${q({ q: text, limit: 30 })}`);
      if ($('search').value !== text) return;
      remember(body.items);
      fill(
        $('search-results'),
        body.items.map((x) => itemRow(x)),
        text.trim() ? 'no item matches' : undefined,
      );
    }, 120);
  });

  async function openItem(id) {
    const { body: d } = await api(`ui/api/items/${encodeURIComponent(id)}${q({ k: 10 })}`);
    remember([d, ...d.siblings, ...d.neighbours]);
    $('item-detail').hidden = false;
    $('item-title').textContent = d.title || d.item;
    $('item-id').textContent = d.item;
    $('item-code').replaceChildren(codeEl(d.code));
    $('item-category').textContent = d.category ? `category: ${d.category}` : '';
    $('item-add').onclick = () => addToHistory(d);
    $('siblings-note').textContent = `(same first ${d.code.length - 1} levels: ${d.siblingsTotal})`;
    fill(
      $('siblings'),
      d.siblings.map((x) => itemRow(x)),
      'none: its prefix holds no other item',
    );
    $('neighbours-note').textContent = `(by ${d.basis === 'embedding' ? 'item embedding' : 'code'} similarity)`;
    fill(
      $('neighbours'),
      d.neighbours.map((x) => itemRow(x, x.similarity.toFixed(3))),
    );
    highlightOnMap(d.item);
  }

  // ---- history and recommendations ----
  function addToHistory(x) {
    state.history.push(x.item);
    if (x.title) state.titles.set(x.item, x.title);
    renderHistory();
    recommend();
  }
  function renderHistory() {
    fill(
      $('history'),
      state.history.map((id, i) => {
        const li = el('li');
        li.dataset.item = id;
        li.appendChild(el('span', 'n', String(i + 1)));
        li.appendChild(el('span', 't', state.titles.get(id) || id));
        const rm = el('button', '', '×');
        rm.type = 'button';
        rm.title = 'remove';
        rm.addEventListener('click', (ev) => {
          ev.stopPropagation();
          state.history.splice(i, 1);
          renderHistory();
          recommend();
        });
        li.appendChild(rm);
        li.addEventListener('click', () => openItem(id));
        return li;
      }),
      'pick items with "+" to build a history',
    );
  }
  $('history-clear').addEventListener('click', () => {
    state.history = [];
    renderHistory();
    recommend();
  });
  $('rec-k').addEventListener('change', () => recommend());

  async function recommend() {
    const seq = ++state.recSeq;
    const tbody = $('recs').querySelector('tbody');
    if (state.history.length === 0) {
      tbody.replaceChildren();
      $('rec-status').textContent = '';
      $('recs').dataset.ready = 'false';
      state.lastRecs = undefined;
      if (charts['beam-tree']) {
        charts['beam-tree'].dispose();
        delete charts['beam-tree'];
      }
      return;
    }
    $('rec-status').textContent = 'decoding...';
    const k = Number($('rec-k').value);
    const t0 = performance.now();
    let r;
    try {
      r = (await api('v1/recommend', { history: state.history, k, ...(state.bundle ? { bundle: state.bundle } : {}) }))
        .body;
    } catch (e) {
      if (seq === state.recSeq) $('rec-status').textContent = e.message;
      return;
    }
    const ms = performance.now() - t0;
    const missing = r.items.map((x) => x.item).filter((id) => !state.titles.has(id));
    if (missing.length > 0) {
      const { body } = await api('ui/api/describe', {
        ids: missing,
        ...(state.bundle ? { bundle: state.bundle } : {}),
      });
      for (const [id, m] of Object.entries(body.items)) if (m.title) state.titles.set(id, m.title);
    }
    if (seq !== state.recSeq) return;
    $('rec-status').textContent =
      `${r.items.length} items in ${ms.toFixed(0)} ms${r.truncatedHistory ? `, oldest ${r.truncatedHistory} history items cut` : ''}`;
    tbody.replaceChildren(
      ...r.items.map((x, i) => {
        const tr = el('tr');
        tr.dataset.item = x.item;
        tr.dataset.score = String(x.score);
        tr.appendChild(el('td', '', String(i + 1)));
        tr.appendChild(el('td', 't', state.titles.get(x.item) || x.item));
        const c = el('td');
        c.appendChild(codeEl(x.code));
        tr.appendChild(c);
        tr.appendChild(el('td', 'score', x.score.toFixed(3)));
        tr.addEventListener('click', () => openItem(x.item));
        return tr;
      }),
    );
    $('recs').dataset.ready = 'true';
    state.lastRecs = r.items;
    drawBeamTree(r.items);
  }

  // The recommended codes as paths from the root, level by level: the beams that survived.
  function drawBeamTree(items) {
    // A fresh chart each time: updating a tree series in place can fail on nodes that are gone.
    if (charts['beam-tree']) {
      charts['beam-tree'].dispose();
      delete charts['beam-tree'];
    }
    const c = chart('beam-tree');
    if (!c) return;
    const root = { name: 'root', children: [] };
    for (const x of items) {
      let node = root;
      x.code.forEach((v, l) => {
        const name = `L${l}=${v}`;
        let next = node.children.find((n) => n.name === name);
        if (!next) {
          next = { name, children: [], value: x.score };
          node.children.push(next);
        }
        next.value = Math.max(next.value, x.score);
        node = next;
      });
      node.children.push({
        name: `${(state.titles.get(x.item) || x.item).slice(0, 40)} (${x.score.toFixed(2)})`,
        value: x.score,
      });
    }
    c.setOption(
      {
        animation: false,
        tooltip: {
          trigger: 'item',
          formatter: (p) => `${p.name}<br>best score under it: ${Number(p.value).toFixed(3)}`,
        },
        series: [
          {
            type: 'tree',
            data: [root],
            top: 8,
            bottom: 8,
            left: 30,
            right: 170,
            symbolSize: 6,
            initialTreeDepth: -1,
            label: { position: 'left', verticalAlign: 'middle', align: 'right', fontSize: 10 },
            leaves: { label: { position: 'right', align: 'left' } },
          },
        ],
      },
      true,
    );
  }

  // ---- item map ----
  let mapIds = [];
  async function loadMap() {
    let r;
    try {
      r = await api(`ui/api/map${q({})}`);
    } catch (e) {
      $('map-status').textContent = `(${e.message})`;
      $('map').style.display = 'none';
      return;
    }
    if (r.status === 202) {
      $('map-status').textContent = '(computing UMAP of the item embeddings; computed once and cached with the bundle)';
      setTimeout(loadMap, 2000);
      return;
    }
    state.map = r.body;
    drawMap();
  }
  function drawMap() {
    const m = state.map;
    if (!m) return;
    mapIds = m.ids;
    $('map-status').textContent = `(${m.ids.length} items, UMAP of the item embeddings, coloured by first-level code)`;
    const c = chart('map');
    if (!c) return;
    const data = m.ids.map((_id, i) => [m.xy[2 * i], m.xy[2 * i + 1], m.firstLevel[i], i]);
    c.setOption({
      animation: false,
      tooltip: {
        trigger: 'item',
        formatter: (p) =>
          `${state.titles.get(mapIds[p.value[3]]) || mapIds[p.value[3]]}<br>first-level code ${p.value[2]}`,
      },
      grid: { left: 10, right: 10, top: 10, bottom: 10 },
      xAxis: { show: false, scale: true },
      yAxis: { show: false, scale: true },
      dataZoom: [
        { type: 'inside', xAxisIndex: 0 },
        { type: 'inside', yAxisIndex: 0 },
      ],
      series: [
        {
          type: 'scatter',
          // per-point colours need the normal (not the large) scatter renderer
          large: false,
          symbolSize: 3,
          data,
          itemStyle: { color: (p) => palette[Math.max(0, p.value[2]) % palette.length], opacity: 0.75 },
        },
        {
          type: 'scatter',
          symbolSize: 14,
          data: [],
          itemStyle: { color: 'transparent', borderColor: '#000', borderWidth: 2 },
        },
      ],
    });
    c.on('click', (p) => {
      if (p.seriesIndex === 0) openItem(mapIds[p.value[3]]);
    });
  }
  function highlightOnMap(id) {
    const c = charts.map;
    const i = mapIds.indexOf(id);
    if (!c || i < 0) return;
    const opt = c.getOption();
    const p = opt.series[0].data[i];
    c.setOption({ series: [{}, { data: [p] }] });
  }

  // ---- start ----
  async function selectBundle(name, info) {
    state.bundle = name;
    state.levels = info.levelSizes;
    state.history = [];
    renderHistory();
    recommend();
    $('bundle-info').textContent =
      `${info.items} items, levels [${info.levelSizes.join(', ')}]${info.scheme ? `, ${info.scheme} index` : ''}`;
    await showPrefix([]);
    loadMap();
  }
  // ECharts (1 MB) loads after the lists are up; the charts are drawn when it arrives.
  function loadCharts() {
    const s = document.createElement('script');
    s.src = 'ui/assets/echarts.min.js';
    s.async = true;
    s.onload = () => {
      if (state.node) drawTreemap();
      drawMap();
      if (state.lastRecs) drawBeamTree(state.lastRecs);
    };
    document.head.appendChild(s);
  }
  async function start() {
    loadCharts();
    const { body } = await api('ui/api/bundles');
    const sel = $('bundle');
    for (const b of body.bundles) sel.appendChild(el('option', '', b.name));
    sel.addEventListener('change', () =>
      selectBundle(
        sel.value,
        body.bundles.find((b) => b.name === sel.value),
      ),
    );
    const first = body.bundles[0];
    if (first) await selectBundle(first.name, first);
    document.body.dataset.ready = 'true';
  }
  window.addEventListener('resize', () => {
    for (const c of Object.values(charts)) c.resize();
  });
  start().catch((e) => {
    $('bundle-info').textContent = `cannot load: ${e.message}`;
  });
})();
