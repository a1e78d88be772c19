# SPDX-License-Identifier: MIT
"""The plots of docs/performance.md, drawn with matplotlib's Agg backend from
the JSON of reqvisor-bench. Importing this module fails with ImportError when
matplotlib is missing: bench/run then skips the plots and says so."""

import re

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import FuncFormatter, NullFormatter  # noqa: E402

DPI = 100
_META = {'Software': None}  # no version string in the PNG: reruns differ only by data


def _save(fig, path):
    fig.tight_layout()
    fig.savefig(path, dpi=DPI, metadata=_META)
    plt.close(fig)


def _g(v, _pos=None):
    return '{:,.0f}'.format(v) if v >= 100 else '%g' % float('%.3g' % v)


def _plain_log(ax, axis='y'):
    """Plain numbers on a log axis (1, 10, 0.5) rather than powers of ten."""
    a = ax.yaxis if axis == 'y' else ax.xaxis
    a.set_major_formatter(FuncFormatter(_g))
    a.set_minor_formatter(NullFormatter())


def _series(rows, group_key):
    groups = {}
    for r in rows:
        groups.setdefault(r[group_key], []).append(r)
    return [(g, sorted(rs, key=lambda r: r['vcpus'])) for g, rs in sorted(groups.items())]


def remote_flush(path, rows):
    """Broadcast latency, cost per vCPU and kicks vs vCPUs, one line per number
    of vCPUs in guest mode (sched's broadcast rows)."""
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2))
    for in_guest, rs in _series(rows, 'in_guest'):
        x = [r['vcpus'] for r in rs]
        lab = '%d in guest mode' % in_guest
        axes[0].errorbar(x, [r['time']['median_ns'] / 1e3 for r in rs],
                         yerr=[[0] * len(rs),
                               [(r['time']['p99_ns'] - r['time']['median_ns']) / 1e3
                                for r in rs]],
                         marker='o', capsize=3, label=lab)
        axes[1].plot(x, [r['ns_per_vcpu'] for r in rs], marker='o', label=lab)
        axes[2].errorbar(x, [r['kicks_per_broadcast'] for r in rs],
                         yerr=[[r['kicks_per_broadcast'] - r['kicks_min'] for r in rs],
                               [r['kicks_max'] - r['kicks_per_broadcast'] for r in rs]],
                         marker='o', capsize=3, label=lab)
    axes[0].set(xscale='log', yscale='log', xlabel='vCPUs', ylabel='µs per broadcast',
                title='Broadcast latency (median, bar to p99)')
    _plain_log(axes[0])
    axes[1].set(xscale='log', xlabel='vCPUs', ylabel='ns per vCPU',
                title='Cost per vCPU (median / vCPUs)')
    axes[1].set_ylim(bottom=0)
    axes[2].set(xscale='log', xlabel='vCPUs', ylabel='kicks per broadcast',
                title='Kicks per broadcast (bar: min-max)')
    axes[2].set_ylim(bottom=-0.2)
    for ax in axes:
        ax.grid(True, which='both', alpha=0.3)
        ax.legend(fontsize=8)
    _save(fig, path)


def overcommit(path, rows, kinds, units):
    """Completion and flush-path time vs vCPU:pCPU ratio, IPIs and hypercalls,
    one line per pCPU count, a column per kind of run (virtual, real, serial)."""
    fig, axes = plt.subplots(2, len(kinds), figsize=(4.6 * len(kinds), 7.5), squeeze=False)
    pcpus = sorted({r['pcpus'] for r in rows})
    colors = plt.rcParams['axes.prop_cycle'].by_key()['color']
    for col, kind in enumerate(kinds):
        title, cunit, cscale, funit, fscale = units.get(kind, (kind, '', 1.0, '', 1.0))
        for row_i, (field, unit, scale) in enumerate((('completion', cunit, cscale),
                                                      ('flush', funit, fscale))):
            ax = axes[row_i][col]
            for pi, p in enumerate(pcpus):
                rs = sorted((r for r in rows if r['pcpus'] == p),
                            key=lambda r: r['vcpus'] / r['pcpus'])
                x = [r['vcpus'] / r['pcpus'] for r in rs]
                c = colors[pi % len(colors)]
                ax.plot(x, [r[kind + '_ipi'][field] / scale for r in rs], marker='o',
                        color=c, label='IPIs, %d pCPUs' % p)
                ax.plot(x, [r[kind + '_hypercall'][field] / scale for r in rs], marker='s',
                        linestyle='--', color=c, label='hypercalls, %d pCPUs' % p)
            ax.set(xscale='log', yscale='log', xlabel='overcommit ratio (vCPUs / pCPUs)',
                   ylabel=unit)
            ratios = sorted({r['vcpus'] / r['pcpus'] for r in rows})
            ax.set_xticks(ratios)
            _plain_log(ax, 'x')
            _plain_log(ax, 'y')
            ax.set_xlim(min(ratios) / 1.5, max(ratios) * 1.5)
            ax.set_title('%s\n%s' % (_wrap(title), 'completion' if field == 'completion'
                                     else 'time in flush paths'), fontsize=9)
            ax.grid(True, which='both', alpha=0.3)
            ax.legend(fontsize=7)
    _save(fig, path)


def _wrap(s, width=45):
    words, lines, cur = s.split(), [], ''
    for w in words:
        if cur and len(cur) + 1 + len(w) > width:
            lines.append(cur)
            cur = w
        else:
            cur = (cur + ' ' + w).strip()
    lines.append(cur)
    return '\n'.join(lines)


def list_vs_space(path, lvs):
    """Flush cost (over a round without a flush) vs pages listed, a panel per
    backend, a line per working set; Space as a dashed level."""
    backends = []
    for r in lvs:
        if r['backend'] not in backends:
            backends.append(r['backend'])
    ncol = min(len(backends), 2)
    nrow = (len(backends) + ncol - 1) // ncol
    fig, axes = plt.subplots(nrow, ncol, figsize=(6 * ncol, 3.8 * nrow), squeeze=False)
    colors = plt.rcParams['axes.prop_cycle'].by_key()['color']
    for i, be in enumerate(backends):
        ax = axes[i // ncol][i % ncol]
        for j, r in enumerate(x for x in lvs if x['backend'] == be):
            c = colors[j % len(colors)]
            ns = [n for n, _ in r['list']]
            ax.plot(ns, [v - r['none'] for _, v in r['list']], marker='o', color=c,
                    label='list, %d-page working set' % r['pages'])
            ax.axhline(r['space'] - r['none'], color=c, linestyle='--',
                       label='space, %d-page working set' % r['pages'])
        ax.set(xlabel='pages listed', ylabel='TSC cycles per round over no flush',
               title=be)
        ax.set_yscale('symlog', linthresh=1000)
        _plain_log(ax)
        ax.grid(True, which='both', alpha=0.3)
        ax.legend(fontsize=7)
    for k in range(len(backends), nrow * ncol):
        axes[k // ncol][k % ncol].axis('off')
    _save(fig, path)


def cpu(path, workloads, wlabels, cpunames):
    """Guest instructions per second, a group of bars per workload."""
    cpus = [c for c in ('software', 'native', 'kvm')
            if any(isinstance(w.get(c), dict) for w in workloads)]
    fig, ax = plt.subplots(figsize=(9, 4.5))
    width = 0.8 / max(len(cpus), 1)
    for i, c in enumerate(cpus):
        ys = []
        for w in workloads:
            d = w.get(c) or {}
            v = d.get('instructions_per_s') if d.get('available') else None
            ys.append(v / 1e6 if v else 0)
        xs = [k + (i - (len(cpus) - 1) / 2) * width for k in range(len(workloads))]
        bars = ax.bar(xs, ys, width, label=cpunames.get(c, c))
        for b, y in zip(bars, ys):
            ax.annotate(_g(y) if y else 'n/a', (b.get_x() + b.get_width() / 2, y or 1),
                        ha='center', va='bottom', fontsize=7)
    for w in workloads:
        t = w.get('target_instructions_per_s')
        if t:
            k = workloads.index(w)
            ax.hlines(t / 1e6, k - 0.45, k + 0.45, colors='red', linestyles=':',
                      label='target (software CPU)')
    ax.set_xticks(range(len(workloads)))
    ax.set_xticklabels([wlabels.get(w['workload'], w['workload']) for w in workloads])
    ax.set(yscale='log', ylabel='M guest instructions/s',
           title='Guest instructions per second, same code on three CPUs')
    _plain_log(ax)
    ax.grid(True, axis='y', which='both', alpha=0.3)
    ax.legend(fontsize=8)
    _save(fig, path)


def tlb(path, rows):
    """Each TLB operation beside its reference, log scale."""
    fig, ax = plt.subplots(figsize=(9, 0.42 * len(rows) + 1.5))
    ys = list(range(len(rows)))[::-1]
    h = 0.38
    ax.barh([y + h / 2 for y in ys], [r['ns']['median'] for r in rows], h,
            label='reqvisor TLB (median)')
    ax.barh([y - h / 2 for y in ys], [r['ref_ns']['median'] for r in rows], h,
            label='reference (median)')
    ax.set_yticks(ys)
    ax.set_yticklabels(['%s\nvs %s' % (r['name'], r['reference']) for r in rows], fontsize=7)
    ax.set(xscale='log', xlabel='ns per operation', title='Software TLB operations')
    _plain_log(ax, 'x')
    ax.grid(True, axis='x', which='both', alpha=0.3)
    ax.legend(fontsize=8)
    _save(fig, path)


def vendors(path, rows, rates):
    """Throughput, and misses and walks per 1000 TLB lookups, per backend."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    names = [r['backend'] for r in rows]
    xs = range(len(rows))
    axes[0].bar(xs, [v['minsn_s'] or 0 for v in rates])
    axes[0].set(ylabel='M guest instructions/s', title='Shootdown guest throughput')
    keys = [('misses', 'TLB misses'), ('guest_walks', 'guest walks (re-walks)'),
            ('tdp_walks', '2nd-stage walks'), ('shadow_faults', 'shadow faults')]
    width = 0.8 / len(keys)
    for i, (k, lab) in enumerate(keys):
        axes[1].bar([x + (i - (len(keys) - 1) / 2) * width for x in xs],
                    [v[k] or 0 for v in rates], width, label=lab)
    axes[1].set(ylabel='per 1000 TLB lookups', title='Misses and walks per 1000 TLB lookups')
    axes[1].set_yscale('symlog', linthresh=0.1)
    _plain_log(axes[1])
    axes[1].legend(fontsize=8)
    for ax in axes:
        ax.set_xticks(list(xs))
        ax.set_xticklabels(names, rotation=25, ha='right', fontsize=8)
        ax.grid(True, axis='y', which='both', alpha=0.3)
    _save(fig, path)


def nested(path, rows):
    """Transitions per second per configuration; configurations that flush on
    every transition in another colour."""
    fig, ax = plt.subplots(figsize=(9, 0.36 * len(rows) + 1.5))
    ys = list(range(len(rows)))[::-1]
    flushing = [r['flushes_per_transition'] > 0 for r in rows]
    colors = plt.rcParams['axes.prop_cycle'].by_key()['color']
    ax.barh(ys, [r['transitions_per_s'] / 1e3 for r in rows],
            color=[colors[1] if f else colors[0] for f in flushing])
    ax.set_yticks(ys)
    ax.set_yticklabels([re.sub(r'\s+', ' ', r['config']) for r in rows], fontsize=7)
    ax.set(xlabel='thousand transitions/s', title='Nested transitions per second')
    ax.legend(handles=[Patch(color=colors[0], label='no pCPU TLB flush on transitions'),
                       Patch(color=colors[1], label='pCPU TLB flushes on transitions')],
              fontsize=8, loc='lower right')
    ax.grid(True, axis='x', alpha=0.3)
    _save(fig, path)


def _configs(rows):
    out = []
    for r in rows:
        if r['config'] not in out:
            out.append(r['config'])
    return out


def coalesce(path, rows, target):
    """Efficiency, kicks per storm and host ns per storm of each strategy,
    grouped by configuration; the model's minimum as the reference."""
    configs = _configs(rows)
    strategies = [s for s in _configs([{'config': r['strategy']} for r in rows])
                  if s != 'minimum']
    by = {(r['config'], r['strategy']): r for r in rows}
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    width = 0.8 / max(len(strategies), 1)
    for i, st in enumerate(strategies):
        xs = [k + (i - (len(strategies) - 1) / 2) * width for k in range(len(configs))]
        rs = [by.get((c, st)) for c in configs]
        axes[0].bar(xs, [r['efficiency'] if r else 0 for r in rs], width, label=st)
        axes[1].bar(xs, [r['kicks'] if r else 0 for r in rs], width, label=st)
        axes[2].bar(xs, [(r['ns_per_storm'] or 0) if r else 0 for r in rs], width, label=st)
    axes[0].axhline(target, color='red', linestyle=':', label='target (reqvisor)')
    axes[0].set(ylabel='minimum flushes / flushes executed', title='Flush efficiency',
                ylim=(0, max(1.0, target) * 1.3))
    mins = [by[(c, 'minimum')]['minimum_kicks'] if (c, 'minimum') in by else
            next(r['minimum_kicks'] for r in rows if r['config'] == c) for c in configs]
    axes[1].hlines(mins, [k - 0.45 for k in range(len(configs))],
                   [k + 0.45 for k in range(len(configs))], colors='black', linestyles='--',
                   label='minimum (model)')
    axes[1].set(ylabel='kicks (whole trace)', title='Kicks')
    axes[2].set(ylabel='ns per storm (host)', title='Cost per storm')
    for ax in axes:
        ax.set_xticks(range(len(configs)))
        ax.set_xticklabels(configs, fontsize=8)
        ax.grid(True, axis='y', alpha=0.3)
    axes[0].legend(fontsize=7, loc='upper center', ncol=2)
    axes[1].legend(fontsize=7)
    axes[2].legend(fontsize=7)
    _save(fig, path)


def scale_broadcast(path, rows, fits):
    """Broadcast median vs vCPUs for each fraction in guest mode with its
    least-squares line, ns per vCPU, and kicks vs vCPUs."""
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.3))
    colors = plt.rcParams['axes.prop_cycle'].by_key()['color']
    fits_by = {f['fraction_pct']: f for f in fits}
    for i, (frac, rs) in enumerate(_series(rows, 'fraction_pct')):
        c = colors[i % len(colors)]
        x = [r['vcpus'] for r in rs]
        lab = '%g%% in guest mode' % frac
        axes[0].plot(x, [r['median_ns'] / 1e3 for r in rs], marker='o', color=c, label=lab)
        f = fits_by.get(frac)
        if f:
            axes[0].plot(x, [(f['intercept_ns'] + f['slope_ns_per_vcpu'] * n) / 1e3 for n in x],
                         linestyle=':', color=c)
        axes[1].plot(x, [r['median_ns'] / r['vcpus'] for r in rs], marker='o', color=c,
                     label=lab)
        axes[2].plot(x, [r['kicks_per_broadcast'] for r in rs], marker='o', color=c, label=lab)
    axes[0].set(xscale='log', yscale='log', xlabel='vCPUs', ylabel='µs per broadcast (median)',
                title='Broadcast latency (dotted: least-squares line)')
    _plain_log(axes[0])
    axes[1].set(xscale='log', xlabel='vCPUs', ylabel='ns per vCPU', title='Cost per vCPU')
    axes[1].set_ylim(bottom=0)
    axes[2].set(xscale='log', xlabel='vCPUs', ylabel='kicks per broadcast',
                title='Kicks per broadcast')
    axes[2].set_yscale('symlog', linthresh=1)
    axes[2].set_ylim(bottom=0)
    _plain_log(axes[2])
    for ax in axes:
        _plain_log(ax, 'x')
        ax.grid(True, which='both', alpha=0.3)
        ax.legend(fontsize=8)
    _save(fig, path)


def scale_memory(path, rows, names, target):
    """Heap and RSS per vCPU after the run, per backend and size, and the target."""
    fig, ax = plt.subplots(figsize=(9, 4.3))
    backends = _configs([{'config': r['backend']} for r in rows])
    sizes = sorted({r['vcpus'] for r in rows if r['booted_heap_bytes_per_vcpu'] is not None})
    width = 0.8 / max(len(sizes) * 2, 1)
    colors = plt.rcParams['axes.prop_cycle'].by_key()['color']
    by = {(r['backend'], r['vcpus']): r for r in rows}
    k = 0
    for n in sizes:
        for what, key in (('heap', 'booted_heap_bytes_per_vcpu'),
                          ('RSS', 'booted_rss_bytes_per_vcpu')):
            xs = [b + (k - (len(sizes) * 2 - 1) / 2) * width for b in range(len(backends))]
            ax.bar(xs, [((by.get((b, n)) or {}).get(key) or 0) / 1024 for b in backends], width,
                   label='%s per vCPU, %d vCPUs' % (what, n), color=colors[k % len(colors)])
            k += 1
    ax.axhline(target / 1024, color='red', linestyle=':', label='target')
    ax.set_xticks(range(len(backends)))
    ax.set_xticklabels([names.get(b, b) for b in backends])
    ax.set(ylabel='KiB per idle vCPU (guest RAM excluded)',
           title='Host memory per idle vCPU after the run')
    ax.grid(True, axis='y', alpha=0.3)
    ax.legend(fontsize=7)
    _save(fig, path)


def numa(path, d):
    """Run time against the baseline per placement, page-move costs, first
    touch and read bandwidth per layout, alloc + free per allocator."""
    fig, axes = plt.subplots(2, 2, figsize=(13, 8.5))
    topologies = _configs([{'config': r['topology']} for r in d['guest_runs']])
    colors = plt.rcParams['axes.prop_cycle'].by_key()['color']

    def grouped(ax, rows, key_label, value, ylabel, title, ref_line=None):
        labels = _configs([{'config': r[key_label]} for r in rows])
        width = 0.8 / max(len(labels), 1)
        for i, lab in enumerate(labels):
            xs, ys = [], []
            for k, t in enumerate(topologies):
                r = next((r for r in rows if r['topology'] == t and r[key_label] == lab), None)
                if r is not None:
                    xs.append(k + (i - (len(labels) - 1) / 2) * width)
                    ys.append(value(r))
            ax.bar(xs, ys, width, label=lab, color=colors[i % len(colors)])
        if ref_line is not None:
            ax.axhline(ref_line, color='black', linestyle=':', linewidth=1)
        ax.set_xticks(range(len(topologies)))
        ax.set_xticklabels(topologies)
        ax.set(ylabel=ylabel, title=title)
        ax.grid(True, axis='y', alpha=0.3)
        ax.legend(fontsize=7)

    grouped(axes[0][0], d['guest_runs'], 'config', lambda r: r['vs_baseline'],
            'run time / baseline', 'Shootdown guest under each placement', ref_line=1.0)
    mig = [dict(r, label='%s, %s' % (r['mode'], 'pinned' if r['pcpus_pinned'] else 'floating'))
           for r in d['migration']]
    grouped(axes[0][1], mig, 'label', lambda r: r['extra_ms_per_move'],
            'extra ms of run time per move', 'Host-page moves (TLB_FLUSH + WAIT each)')
    grouped(axes[1][0], d['guest_memory'], 'layout', lambda r: r['first_touch_ns_per_page'],
            'first touch, ns per page', 'Guest memory: first touch per layout')
    grouped(axes[1][1], d['host_objects'], 'allocator', lambda r: r['alloc_free_ns'],
            'alloc + free, ns per object', 'Host objects per allocator')
    _save(fig, path)
