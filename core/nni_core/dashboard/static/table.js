// A virtualised table: only the rows in view exist in the DOM, so 10,000 trials scroll and sort
// as fast as 10. Columns: [{key, label, width, get(row), fmt(value,row) -> html string, cls}].
const ROW_H = 30;
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]));

export function virtualTable(el, { columns, onRowClick, rowClass, onSort }) {
  el.classList.add('vt');
  const scroller = document.createElement('div');
  scroller.className = 'vt-scroll';
  const head = document.createElement('div');
  head.className = 'vt-head';
  head.setAttribute('role', 'row');
  const spacer = document.createElement('div');
  spacer.className = 'vt-spacer';
  const body = document.createElement('div');
  body.className = 'vt-rows';
  spacer.append(body);
  scroller.append(head, spacer);
  el.append(scroller);

  let cols = columns;
  let rows = [];
  let sort = { key: null, dir: 1 };
  let template = '';
  let drawn = '';

  function renderHead() {
    template = cols.map((c) => (c.width ? `${c.width}px` : 'minmax(110px, 1fr)')).join(' ');
    head.style.gridTemplateColumns = template;
    head.innerHTML = cols.map((c) => {
      const s = sort.key === c.key ? (sort.dir > 0 ? ' ▲' : ' ▼') : '';
      return `<div class="vt-th${c.sortable === false ? '' : ' sortable'}${c.cls ? ' ' + c.cls : ''}" data-key="${esc(c.key)}" role="columnheader" aria-sort="${sort.key === c.key ? (sort.dir > 0 ? 'ascending' : 'descending') : 'none'}">${esc(c.label)}${s}</div>`;
    }).join('');
    const minW = cols.reduce((a, c) => a + (c.width || 110), 0);
    spacer.style.minWidth = head.style.minWidth = `${minW}px`;
  }

  function renderRows(force) {
    const top = scroller.scrollTop;
    const view = scroller.clientHeight || 600;
    const first = Math.max(0, Math.floor(top / ROW_H) - 5);
    const last = Math.min(rows.length, Math.ceil((top + view) / ROW_H) + 5);
    const key = `${first}:${last}`;
    if (!force && key === drawn) return;
    drawn = key;
    let html = '';
    for (let i = first; i < last; i++) {
      const r = rows[i];
      html += `<div class="vt-row${rowClass ? ' ' + rowClass(r) : ''}${i % 2 ? ' odd' : ''}" role="row" data-i="${i}" style="top:${i * ROW_H}px;grid-template-columns:${template}">`;
      for (const c of cols) {
        const v = c.get(r);
        html += `<div class="vt-td${c.cls ? ' ' + c.cls : ''}">${c.fmt ? c.fmt(v, r) : esc(v ?? '')}</div>`;
      }
      html += '</div>';
    }
    body.innerHTML = html;
  }

  scroller.addEventListener('scroll', () => renderRows(false), { passive: true });
  head.addEventListener('click', (ev) => {
    const th = ev.target.closest('.vt-th.sortable');
    if (!th) return;
    const key = th.dataset.key;
    sort = { key, dir: sort.key === key ? -sort.dir : (cols.find((c) => c.key === key).firstDir || 1) };
    renderHead();
    onSort(sort);
  });
  body.addEventListener('click', (ev) => {
    const tr = ev.target.closest('.vt-row');
    if (tr && onRowClick) onRowClick(rows[Number(tr.dataset.i)], ev);
  });
  new ResizeObserver(() => renderRows(true)).observe(scroller);

  renderHead();
  return {
    setColumns(c) { cols = c; renderHead(); renderRows(true); },
    setRows(r) {
      rows = r;
      spacer.style.height = `${rows.length * ROW_H}px`;
      el.dataset.rows = String(rows.length);
      renderRows(true);
    },
    refresh() { renderRows(true); },
    get sort() { return sort; },
    setSort(s) { sort = s; renderHead(); },
    scrollToTop() { scroller.scrollTop = 0; },
  };
}

export { esc };
