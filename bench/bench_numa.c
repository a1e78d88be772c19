// SPDX-License-Identifier: MIT
/*
 * reqvisor-bench numa: NUMA placement, side by side in one run, on a declared
 * 4-node topology (4 nodes of 1 pCPU, as `--topology 4x1`) and on the host's
 * own topology, both with 4 pCPUs:
 *
 *   1. the built-in shootdown guest (8 vCPUs, threads executor, oracle off)
 *      with node-local vs interleaved guest memory, pinned vs floating pCPU
 *      workers, per-node jemalloc arenas vs plain malloc for the host
 *      objects, each against the same baseline: run time, instructions per
 *      second, TLB misses, set-up and teardown, and where things really were
 *      (read back with the placement report, src/core/numa_report.c);
 *   2. host-page moves (fault point hostmem.migrate, and --numa-migrate):
 *      time per move, and the remote flushes, kicks and waits each costs;
 *   3. the guest-memory placement machinery alone: creating the per-node
 *      pools, first touch, a read pass, the 2 MiB second-stage leaves;
 *   4. the host-object machinery alone: VM creation with and without
 *      per-node arenas, and the allocation of a vCPU-sized object.
 *
 * Every figure is measured in this run; what a one-node host cannot show is
 * said in the output.
 */
#include <inttypes.h>
#include <numa.h>
#include <numaif.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "bench.h"
#include "bench_guest.h"
#include "bench_numa.h"
#include "machine/machine.h"
#include "mem/guest_mem.h"
#include "mmu/tdp.h"
#include "numa_report.h"
#include "reqvisor/request.h"
#include "vm_impl.h"

extern const unsigned char rv_default_guest[];
extern const size_t rv_default_guest_len;

#define VCPUS	       8
#define PCPUS	       4
#define DECLARED_NODES 4
#define GUEST_MIB      64
#define GUEST_PAGES    1024 /* the shootdown window: 4 MiB, over several 2 MiB chunks */
#define MIGRATE_RATE   "0.002"
#define MAX_REPS       5

/* ---- what is compared ---- */

struct topo {
	const char *name;
	uint32_t declared; /* nodes; 0: the host's */
};

static const struct topo topos[] = {
	{ "declared 4x1", DECLARED_NODES },
	{ "host", 0 },
};
#define NR_TOPOS 2

enum migrate { MIG_NONE, MIG_FAULT, MIG_NUMA };

struct gcfg {
	const char *name;
	bool interleave, floating, malloc_objects;
	enum migrate migrate;
	unsigned base; /* the row it is compared with */
};

static const struct gcfg gcfgs[] = {
	{ "baseline: node-local, pinned, arenas", false, false, false, MIG_NONE, 0 },
	{ "interleaved guest memory", true, false, false, MIG_NONE, 0 },
	{ "floating pCPUs", false, true, false, MIG_NONE, 0 },
	{ "plain malloc host objects", false, false, true, MIG_NONE, 0 },
	{ "hostmem.migrate=" MIGRATE_RATE ", pinned", false, false, false, MIG_FAULT, 0 },
	{ "hostmem.migrate=" MIGRATE_RATE ", floating", false, true, false, MIG_FAULT, 2 },
	{ "--numa-migrate, pinned", false, false, false, MIG_NUMA, 0 },
};
#define NR_GCFGS (sizeof(gcfgs) / sizeof(gcfgs[0]))

struct grun {
	double seconds, setup_ms, teardown_ms;
	double min_s, max_s; /* the fastest and slowest of the repetitions */
	struct rv_machine_totals t;
	uint64_t migrations, kicks_sent, exits_kick, broadcasts, waits, wait_ns;
	uint64_t flush_posted, flush_serviced, fired;
	uint32_t pinned, pcpus;
	double cpus_per_worker; /* distinct host CPUs a worker was seen on */
	uint64_t mem_present, mem_on_node, obj_asked, obj_present, obj_on_node, arena_bound;
	uint64_t resident[DECLARED_NODES]; /* present guest pages by VM node */
	uint32_t nodes;
	int status;
};

struct mem_row {
	const struct topo *topo;
	uint32_t nodes;
	bool interleave;
	double create_ms, touch_ns, read_gbps, destroy_ms;
	unsigned leaves, chunks;
	uint64_t present, on_node;
};

struct obj_row {
	const struct topo *topo;
	uint32_t nodes;
	bool arenas;
	double create_ms, destroy_ms, alloc_ns;
	uint64_t obj_asked, obj_present, obj_on_node, bound;
};

struct numa_opts {
	struct bench_guest_opts g;
	unsigned reps;
	uint64_t mem_mib;
	uint32_t obj_vcpus, alloc_iters;
};

struct results {
	struct grun runs[NR_TOPOS][NR_GCFGS][MAX_REPS];
	struct grun g[NR_TOPOS][NR_GCFGS];
	struct mem_row mem[NR_TOPOS * 2];
	struct obj_row obj[NR_TOPOS * 2];
	double seconds;
};

/* The VM's nodes for @t, as rv_vm_create counts them (guest_run.c does the
 * same for `reqvisor run`), so that guest RAM is split over the same nodes. */
static uint32_t topo_nodes(const struct topo *t)
{
	uint32_t n = t->declared ? t->declared : rv_host_nr_nodes();

	return n < PCPUS ? n : PCPUS;
}

static double median(double *v, unsigned n)
{
	struct bench_stats s;

	bench_stats(v, n, &s);
	return s.median;
}

/* ---- 1 and 2: guest runs ---- */

static void read_placement(struct rv_vm *vm, const struct rv_guest_mem *mem, struct grun *out)
{
	struct rv_numa_report *r = malloc(sizeof(*r));
	double seen = 0;

	if (!r)
		return;
	rv_numa_report(vm, mem, 0, r);
	out->nodes = r->nodes;
	for (uint32_t n = 0; n < r->nodes; n++) {
		const struct rv_numa_node *nd = &r->node[n];

		out->pinned += nd->pinned;
		out->mem_present += nd->mem.present;
		out->mem_on_node += nd->mem.on_node;
		out->obj_asked += nd->objects.asked;
		out->obj_present += nd->objects.present;
		out->obj_on_node += nd->objects.on_node;
		out->arena_bound += nd->arena_bound_bytes;
		if (n < DECLARED_NODES)
			out->resident[n] = nd->mem.present;
	}
	out->pcpus = vm->nr_pcpus;
	for (uint32_t i = 0; i < vm->nr_pcpus; i++) {
		const struct rv_pcpu_placement *pl = rv_pcpu_placement(vm->pcpus[i]);

		for (unsigned w = 0; w < RV_NUMA_MAX_CPUS / 64; w++)
			seen += __builtin_popcountll(pl->cpus_seen[w]);
	}
	out->cpus_per_worker = vm->nr_pcpus ? seen / vm->nr_pcpus : 0;
	free(r);
}

static void read_stats(struct rv_vm *vm, struct grun *out)
{
	out->migrations = rv_vm_stat(vm, RV_STAT_migrations);
	out->kicks_sent = rv_vm_stat(vm, RV_STAT_kicks_sent);
	out->exits_kick = rv_vm_stat(vm, RV_STAT_exits_kick);
	out->broadcasts = rv_vm_stat(vm, RV_STAT_broadcasts);
	out->waits = rv_vm_stat(vm, RV_STAT_waits);
	out->wait_ns = rv_vm_stat(vm, RV_STAT_wait_ns);
	out->flush_posted = rv_vm_requests_posted(vm, RV_REQ_BIT_TLB_FLUSH);
	out->flush_serviced = rv_vm_requests_serviced(vm, RV_REQ_BIT_TLB_FLUSH);
	out->fired = rv_vm_fault_fired(vm, RV_FAULT_HOSTMEM_MIGRATE);
}

/*
 * The remote flushes made for page moves: one per move started. A move whose
 * target node has no free frame left (each node keeps 64 spare frames, and a
 * frame moved away is poisoned, never reused) still unmaps, flushes and
 * waits, then maps the page back: a flush without a move. hostmem.migrate
 * counts its starts; --numa-migrate's are the broadcasts beyond the run
 * without moves (the guest's own broadcasts are the same in both).
 */
static uint64_t move_flushes(const struct gcfg *c, const struct grun *g, const struct grun *b)
{
	uint64_t n = c->migrate == MIG_FAULT	     ? g->fired
		     : g->broadcasts > b->broadcasts ? g->broadcasts - b->broadcasts
						     : 0;

	return n > g->t.pages_moved ? n : g->t.pages_moved;
}

/* One run of the shootdown guest; set-up, run and teardown timed apart. */
static int run_guest(const struct topo *tp, const struct gcfg *c, uint32_t rounds, struct grun *out)
{
	struct rv_machine_config mc = {
		.image = rv_default_guest,
		.image_len = rv_default_guest_len,
		.mem_size = (uint64_t)GUEST_MIB << 20,
		.nr_vcpus = VCPUS,
		.nr_nodes = topo_nodes(tp),
		.numa_migrate = c->migrate == MIG_NUMA,
		.oracle = RV_ORACLE_OFF,
		.set_rounds = true,
		.set_pages = true,
		.config = { .magic = RV_GUEST_CONFIG_MAGIC,
			    .version = RV_GUEST_CONFIG_VERSION,
			    .rounds = rounds,
			    .pages = GUEST_PAGES },
	};
	struct rv_vm_config vc = {
		.nr_vcpus = VCPUS,
		.nr_pcpus = PCPUS,
		.nr_nodes = tp->declared,
		.executor = RV_EXEC_THREADS,
		.seed = 1,
		.pin = !c->floating,
		.faults = c->migrate == MIG_FAULT ? "hostmem.migrate=" MIGRATE_RATE : NULL,
	};
	char *text = NULL, err[256];
	size_t len = 0;
	struct rv_machine *m;
	struct rv_vm *vm = NULL;
	uint32_t status;
	double t0;
	int rc;

	memset(out, 0, sizeof(*out));
	mc.console = open_memstream(&text, &len);
	if (!mc.console)
		return -1;
	rv_guest_mem_set_layout(c->interleave ? RV_GUEST_MEM_INTERLEAVE : RV_GUEST_MEM_NODE_LOCAL);
	rv_node_arenas_enable(!c->malloc_objects);
	t0 = bench_mono_s();
	m = rv_machine_create(&mc, err, sizeof(err));
	if (m) {
		vc.backend = &rv_machine_backend;
		vc.backend_ctx = m;
		vc.vendor = rv_machine_vendor(m);
		if (rv_vm_create(&vc, &vm, err, sizeof(err)))
			vm = NULL;
	}
	out->setup_ms = (bench_mono_s() - t0) * 1e3;
	rv_guest_mem_set_layout(RV_GUEST_MEM_NODE_LOCAL);
	rv_node_arenas_enable(true);
	if (!vm) {
		fprintf(stderr, "reqvisor-bench: numa: %s, %s: %s\n", tp->name, c->name, err);
		rv_machine_destroy(m);
		fclose(mc.console);
		free(text);
		return -1;
	}
	t0 = bench_mono_s();
	rc = rv_vm_run(vm);
	out->seconds = bench_mono_s() - t0;
	rv_machine_flush_console(vm);
	out->status = rc == 0 && rv_machine_exited(m, &status) ? (int)status : -1;
	rv_machine_totals(m, vm, &out->t);
	read_stats(vm, out);
	read_placement(vm, rv_numa_machine_mem(m), out);
	t0 = bench_mono_s();
	rv_vm_destroy(vm);
	rv_machine_destroy(m);
	out->teardown_ms = (bench_mono_s() - t0) * 1e3;
	fclose(mc.console);
	free(text);
	if (out->status) {
		fprintf(stderr, "reqvisor-bench: numa: %s, %s: the guest failed (status %d)\n",
			tp->name, c->name, out->status);
		return -1;
	}
	return 0;
}

/* The run of median time among @reps. */
static void median_run(const struct grun *runs, unsigned reps, struct grun *out)
{
	unsigned pick = 0;

	for (unsigned i = 0; i < reps; i++) {
		unsigned below = 0;

		for (unsigned j = 0; j < reps; j++)
			below += runs[j].seconds < runs[i].seconds;
		if (below == reps / 2)
			pick = i;
	}
	*out = runs[pick];
	out->min_s = out->max_s = runs[0].seconds;
	for (unsigned i = 1; i < reps; i++) {
		out->min_s = runs[i].seconds < out->min_s ? runs[i].seconds : out->min_s;
		out->max_s = runs[i].seconds > out->max_s ? runs[i].seconds : out->max_s;
	}
}

/* ---- 3: the guest-memory machinery ---- */

static void count_on_node(const struct rv_guest_mem *m, struct mem_row *row)
{
	enum { BATCH = 1024 };
	void *pages[BATCH];
	int status[BATCH];

	for (uint32_t n = 0; n < rv_guest_mem_nr_nodes(m); n++) {
		uint64_t bytes, ram;
		uint8_t *base = rv_guest_mem_node_host(m, n, &bytes, &ram);
		int want = rv_host_node_of(n);

		for (uint64_t off = 0; base && off < ram;) {
			unsigned k = 0;

			for (; k < BATCH && off < ram; k++, off += RV_PAGE_SIZE)
				pages[k] = base + off;
			if (move_pages(0, k, pages, NULL, status, 0))
				continue;
			for (unsigned j = 0; j < k; j++) {
				row->present += status[j] >= 0;
				row->on_node += status[j] == want;
			}
		}
	}
}

static int mem_once(uint32_t nodes, bool interleave, uint64_t bytes, struct mem_row *row,
		    double *create, double *touch, double *gbps, double *destroy)
{
	struct rv_guest_mem_config c = { bytes, nodes, 64 };
	struct rv_guest_mem *m;
	struct rv_tdp *tdp;
	char err[256];
	uint64_t pages = bytes >> RV_PAGE_SHIFT, sum = 0;
	double t0;

	rv_guest_mem_set_layout(interleave ? RV_GUEST_MEM_INTERLEAVE : RV_GUEST_MEM_NODE_LOCAL);
	t0 = bench_mono_s();
	m = rv_guest_mem_create(&c, err, sizeof(err));
	*create = (bench_mono_s() - t0) * 1e3;
	rv_guest_mem_set_layout(RV_GUEST_MEM_NODE_LOCAL);
	if (!m) {
		fprintf(stderr, "reqvisor-bench: numa: guest memory: %s\n", err);
		return -1;
	}
	/* First touch: one write per page, each a page fault under the node's
	 * policy (the kernel zeroes and places the page). */
	t0 = bench_mono_s();
	for (uint64_t p = 0; p < pages; p++)
		*(volatile uint8_t *)rv_gpa_hva(m, p << RV_PAGE_SHIFT) = 1;
	*touch = (bench_mono_s() - t0) * 1e9 / (double)pages;
	/* A read pass over all of RAM in guest-physical order, through the
	 * frame table as the machine reads it. */
	t0 = bench_mono_s();
	for (uint64_t p = 0; p < pages; p++) {
		const uint64_t *w = (const uint64_t *)rv_gpa_hva(m, p << RV_PAGE_SHIFT);

		for (unsigned k = 0; k < RV_PAGE_SIZE / 8; k++)
			sum += w[k];
	}
	*gbps = (double)bytes / ((bench_mono_s() - t0) * 1e9);
	__asm__ volatile("" : : "r"(sum));
	tdp = rv_tdp_create(RV_TDP_EPT, m, err, sizeof(err));
	row->leaves = tdp ? rv_tdp_large_leaves(tdp) : 0;
	rv_tdp_destroy(tdp);
	row->chunks = (unsigned)(bytes >> 21);
	row->present = row->on_node = 0;
	count_on_node(m, row);
	t0 = bench_mono_s();
	rv_guest_mem_destroy(m);
	*destroy = (bench_mono_s() - t0) * 1e3;
	return 0;
}

struct mem_samples {
	double create[MAX_REPS], touch[MAX_REPS], gbps[MAX_REPS], destroy[MAX_REPS];
};

static void mem_finish(struct mem_row *row, struct mem_samples *m, unsigned reps)
{
	row->create_ms = median(m->create, reps);
	row->touch_ns = median(m->touch, reps);
	row->read_gbps = median(m->gbps, reps);
	row->destroy_ms = median(m->destroy, reps);
}

/* ---- 4: the host-object machinery ---- */

static int obj_once(const struct topo *tp, bool arenas, const struct numa_opts *o,
		    struct obj_row *row, double *create, double *destroy, double *alloc)
{
	struct rv_vm_config cfg = {
		.nr_vcpus = o->obj_vcpus,
		.nr_pcpus = PCPUS,
		.nr_nodes = tp->declared,
		.executor = RV_EXEC_THREADS,
		.seed = 1,
		.pin = true,
	};
	struct rv_numa_report *r = malloc(sizeof(*r));
	void *obj[256];
	struct bench_vm b;
	double t0;
	int rc;

	if (!r)
		return -1;
	rv_node_arenas_enable(arenas);
	t0 = bench_mono_s();
	rc = bench_vm_create(&b, &cfg, rv_synthetic_default_script, 1, NULL);
	*create = (bench_mono_s() - t0) * 1e3;
	rv_node_arenas_enable(true);
	if (rc) {
		free(r);
		return -1;
	}
	rv_numa_report(b.vm, NULL, 0, r);
	row->obj_asked = row->obj_present = row->obj_on_node = row->bound = 0;
	for (uint32_t n = 0; n < r->nodes; n++) {
		row->obj_asked += r->node[n].objects.asked;
		row->obj_present += r->node[n].objects.present;
		row->obj_on_node += r->node[n].objects.on_node;
		row->bound += r->node[n].arena_bound_bytes;
	}
	free(r);
	/* vCPU-sized objects from the VM's nodes in turn, 256 at a time, as
	 * vCPUs come and go. */
	t0 = bench_mono_s();
	for (uint32_t it = 0; it < o->alloc_iters; it += 256) {
		for (unsigned k = 0; k < 256; k++)
			obj[k] = rv_node_zalloc(b.vm, (int)(k % b.vm->nr_nodes),
						sizeof(struct rv_vcpu));
		for (unsigned k = 0; k < 256; k++)
			rv_node_free(obj[k]);
	}
	*alloc = (bench_mono_s() - t0) * 1e9 / (double)((o->alloc_iters + 255) / 256 * 256);
	t0 = bench_mono_s();
	bench_vm_destroy(&b);
	*destroy = (bench_mono_s() - t0) * 1e3;
	return 0;
}

struct obj_samples {
	double create[MAX_REPS], destroy[MAX_REPS], alloc[MAX_REPS];
};

static void obj_finish(struct obj_row *row, struct obj_samples *b, unsigned reps)
{
	row->create_ms = median(b->create, reps);
	row->destroy_ms = median(b->destroy, reps);
	row->alloc_ns = median(b->alloc, reps);
}

/* ---- output ---- */

static const char *topo_label(const struct topo *t, char *buf, size_t len)
{
	uint32_t n = topo_nodes(t);

	if (t->declared)
		snprintf(buf, len, "%s (%u nodes x 1 pCPU)", t->name, n);
	else
		snprintf(buf, len, "host (%u node%s, %u pCPUs)", n, n == 1 ? "" : "s", PCPUS);
	return buf;
}

static double per(uint64_t a, uint64_t b, uint64_t n)
{
	return n ? ((double)a - (double)b) / (double)n : 0;
}

static double lookups(const struct rv_machine_totals *t)
{
	return (double)(t->tlb_hits + t->tlb_misses);
}

static void host_line(FILE *out)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	fprintf(out, "host: %u NUMA node%s with memory, %ld online CPUs, libnuma %s, %s\n",
		rv_host_nr_nodes(), rv_host_nr_nodes() == 1 ? "" : "s", cpus,
		numa_available() >= 0 ? "available" : "unavailable",
		rv_node_pages_bound() ? "jemalloc per-node arenas with node-binding extent hooks"
				      : "libc allocator (sanitizer build): no per-node arenas");
}

static const char *honest_note(void)
{
	if (rv_host_nr_nodes() > 1)
		return "This host has more than one NUMA node: node-local vs interleaved memory "
		       "and "
		       "arenas vs malloc place pages on different nodes here, so the figures "
		       "include hardware memory-access differences as well as the cost of the "
		       "placement machinery.";
	return "This host has ONE NUMA node (and few cores): every VM node maps to host node 0, "
	       "so node-local vs interleaved guest memory and per-node arenas vs malloc put every "
	       "page on the same node and CANNOT differ in hardware memory-access cost here. "
	       "What the figures show is the cost of the placement machinery itself (per-node "
	       "pools bound with mbind, the 2 MiB chunk layout, arena creation and extent "
	       "binding, pinning), the scheduling effect of 4 pCPU workers on the host's "
	       "cores, and the cost of host-page moves. Remote-node accesses are not counted: "
	       "the machine has no such counter (rv_machine_totals), and on one node there are "
	       "none to count.";
}

static void print_wrapped(const char *s)
{
	unsigned col = 0;

	while (*s) {
		const char *sp = strchr(s, ' ');
		size_t w = sp ? (size_t)(sp - s) : strlen(s);

		if (col && col + 1 + w > 88) {
			printf("\n");
			col = 0;
		} else if (col) {
			printf(" ");
			col++;
		}
		printf("%.*s", (int)w, s);
		col += (unsigned)w;
		s += w;
		while (*s == ' ')
			s++;
	}
	printf("\n");
}

static void resident_text(const struct grun *g, char *buf, size_t len)
{
	size_t at = 0;

	buf[0] = 0;
	for (uint32_t n = 0; n < g->nodes && n < DECLARED_NODES && at < len; n++)
		at += (size_t)snprintf(buf + at, len - at, "%s%" PRIu64, n ? "/" : "",
				       g->resident[n]);
}

static void print_guest(const struct results *R, const struct numa_opts *o)
{
	char label[64], res[64];

	printf("\n1. The shootdown guest, %u vCPUs on %u pCPUs, %u rounds over a %u-page window, "
	       "%u MiB of RAM,\nthreads executor, oracle off; the run of median time of %u.\n",
	       VCPUS, PCPUS, o->g.rounds, GUEST_PAGES, GUEST_MIB, o->reps);
	for (unsigned t = 0; t < NR_TOPOS; t++) {
		printf("\n%s\n", topo_label(&topos[t], label, sizeof(label)));
		printf("%-38s %7s %13s %6s %8s %8s %7s %7s %6s %6s %6s %5s %16s %7s\n",
		       "configuration", "run s", "min-max", "vs base", "Minsn/s", "TLB miss",
		       "miss/1k", "setup", "tear", "vmigr", "pinned", "CPUs/w",
		       "guest pages by VM node", "objs");
		printf("%-38s %7s %13s %6s %8s %8s %7s %7s %6s %6s %6s %5s %16s %7s\n", "", "", "",
		       "", "", "", "lookups", "ms", "ms", "", "", "", "(resident)", "on node");
		for (unsigned c = 0; c < NR_GCFGS; c++) {
			const struct grun *g = &R->g[t][c];
			const struct grun *b = &R->g[t][gcfgs[c].base];

			if (gcfgs[c].migrate != MIG_NONE)
				continue;
			resident_text(g, res, sizeof(res));
			char range[32];

			snprintf(range, sizeof(range), "%.3f-%.3f", g->min_s, g->max_s);
			printf("%-38s %7.3f %13s %6.2fx %8.1f %8" PRIu64
			       " %7.2f %7.1f %6.1f %6" PRIu64 " %3u/%-2u %5.1f %16s %3" PRIu64
			       "/%-3" PRIu64 "\n",
			       gcfgs[c].name, g->seconds, range,
			       b->seconds > 0 ? g->seconds / b->seconds : 0,
			       g->seconds > 0 ? (double)g->t.instructions / g->seconds / 1e6 : 0,
			       g->t.tlb_misses,
			       lookups(&g->t) > 0
				       ? 1000.0 * (double)g->t.tlb_misses / lookups(&g->t)
				       : 0,
			       g->setup_ms, g->teardown_ms, g->migrations, g->pinned, g->pcpus,
			       g->cpus_per_worker, res, g->obj_on_node, g->obj_present);
		}
	}
	printf("\nmin-max: the fastest and slowest of the %u runs, the noise to judge 'vs base' "
	       "by (run time\nover the baseline's). vmigr: vCPU loads on another pCPU. pinned: "
	       "workers whose affinity read\nback was exactly their CPU. CPUs/w: distinct host "
	       "CPUs a worker was seen on. Guest pages: present\n(touched) pages of each VM node's "
	       "pool, from move_pages(2). objs: pCPU and vCPU objects whose\npage is on their "
	       "node's host node.\n",
	       o->reps);
}

static void print_migrate(const struct results *R)
{
	char label[64];

	printf("\n2. Host-page moves: each unmaps the page, posts TLB_FLUSH to every vCPU with "
	       "WAIT (a remote\nflush), then copies and maps it; against the run without moves "
	       "(same pinning).\n");
	for (unsigned t = 0; t < NR_TOPOS; t++) {
		printf("\n%s\n", topo_label(&topos[t], label, sizeof(label)));
		printf("%-36s %7s %6s %7s %8s %8s %8s %8s %7s %9s\n", "mode", "remote", "moves",
		       "run s", "extra ms", "wait ms", "FLUSH", "FLUSH", "kicks", "kick");
		printf("%-36s %7s %6s %7s %8s %8s %8s %8s %7s %9s\n", "", "flushes", "", "",
		       "/move", "/flush", "posted/f", "served/f", "/flush", "exits/f");
		for (unsigned c = 0; c < NR_GCFGS; c++) {
			const struct grun *g = &R->g[t][c];
			const struct grun *b = &R->g[t][gcfgs[c].base];
			uint64_t f = move_flushes(&gcfgs[c], g, b), n = g->t.pages_moved;

			if (gcfgs[c].migrate == MIG_NONE)
				continue;
			printf("%-36s %7" PRIu64 " %6" PRIu64
			       " %7.3f %8.2f %8.2f %8.2f %8.2f %7.2f %9.0f\n",
			       gcfgs[c].name, f, n, g->seconds,
			       n ? (g->seconds - b->seconds) * 1e3 / (double)n : 0,
			       per(g->wait_ns, b->wait_ns, f) / 1e6,
			       per(g->flush_posted, b->flush_posted, f),
			       per(g->flush_serviced, b->flush_serviced, f),
			       per(g->kicks_sent, b->kicks_sent, f),
			       per(g->exits_kick, b->exits_kick, f));
		}
	}
	printf("\nremote flushes: moves started (a target node without a free frame makes a flush "
	       "but no move:\n64 spare frames per node, a frame moved away is never reused). extra "
	       "ms/move: run time over\nthe run without moves, per page moved. wait ms: time the "
	       "moving vCPU waited for the others to\nleave guest mode (stat wait_ns). FLUSH: "
	       "TLB_FLUSH requests posted and serviced (a post onto a\npending one coalesces). "
	       "kick exits: exits by kick, which include the EPT-violation retries of\nvCPUs "
	       "touching a page mid-move. --numa-migrate moves a page only when a vCPU on another "
	       "node\nmisses on it: on one node it never does.\n");
}

static void print_mem(const struct results *R, const struct numa_opts *o)
{
	char label[64];

	printf("\n3. Guest memory placement machinery: %" PRIu64 " MiB of RAM in per-node pools "
	       "(numa_alloc_onnode: mmap + mbind);\nthe median of %u.\n\n",
	       o->mem_mib, o->reps);
	printf("%-34s %-12s %9s %10s %9s %10s %14s %9s\n", "topology", "layout", "create ms",
	       "1st touch", "read", "2 MiB", "pages on", "destroy");
	printf("%-34s %-12s %9s %10s %9s %10s %14s %9s\n", "", "", "", "ns/page", "GB/s", "leaves",
	       "node/present", "ms");
	for (unsigned i = 0; i < NR_TOPOS * 2; i++) {
		const struct mem_row *m = &R->mem[i];
		char leaves[32], on[32];

		snprintf(leaves, sizeof(leaves), "%u/%u", m->leaves, m->chunks);
		snprintf(on, sizeof(on), "%" PRIu64 "/%" PRIu64, m->on_node, m->present);
		printf("%-34s %-12s %9.2f %10.0f %9.2f %10s %14s %9.2f\n",
		       topo_label(m->topo, label, sizeof(label)),
		       m->interleave ? "interleaved" : "node-local", m->create_ms, m->touch_ns,
		       m->read_gbps, leaves, on, m->destroy_ms);
	}
	printf("\n2 MiB leaves: EPT leaves of 2 MiB over the RAM (the rest would be 4 KiB); "
	       "every node's pool\nstarts 2 MiB-aligned in the frame space. Pages on node: "
	       "move_pages(2) after the first touch.\n");
}

static void print_obj(const struct results *R, const struct numa_opts *o)
{
	char label[64];

	printf("\n4. Host objects: a synthetic VM of %u vCPUs created and destroyed; vCPU-sized "
	       "objects (%zu B)\nallocated and freed from the nodes in turn; the median of %u.\n\n",
	       o->obj_vcpus, sizeof(struct rv_vcpu), o->reps);
	printf("%-34s %-17s %10s %10s %12s %12s %12s\n", "topology", "host objects", "create ms",
	       "destroy ms", "alloc+free", "objects on", "bound by");
	printf("%-34s %-17s %10s %10s %12s %12s %12s\n", "", "", "", "", "ns/object", "node/asked",
	       "hooks, KiB");
	for (unsigned i = 0; i < NR_TOPOS * 2; i++) {
		const struct obj_row *b = &R->obj[i];
		char on[32];

		snprintf(on, sizeof(on), "%" PRIu64 "/%" PRIu64, b->obj_on_node, b->obj_asked);
		printf("%-34s %-17s %10.2f %10.2f %12.1f %12s %12.0f\n",
		       topo_label(b->topo, label, sizeof(label)),
		       b->arenas ? "per-node arenas" : "plain malloc", b->create_ms, b->destroy_ms,
		       b->alloc_ns, on, (double)b->bound / 1024);
	}
	printf("\nPlain malloc is jemalloc's automatic arenas (this binary links jemalloc) "
	       "with the thread cache;\nper-node arenas bypass the thread cache so that every "
	       "object comes from its node's arena.\n");
}

/* ---- JSON ---- */

static void json_guest_row(FILE *f, const struct topo *tp, const struct gcfg *c,
			   const struct grun *g, const struct grun *b)
{
	fprintf(f,
		"\n    {\"topology\": \"%s\", \"nodes\": %u, \"config\": \"%s\", "
		"\"memory\": \"%s\", \"pcpus_pinned\": %s, \"host_objects\": \"%s\", "
		"\"migration\": \"%s\", \"run_s\": %.6f, \"run_s_min\": %.6f, "
		"\"run_s_max\": %.6f, \"vs_baseline\": %.4f, "
		"\"setup_ms\": %.3f, \"teardown_ms\": %.3f, \"instructions\": %" PRIu64
		", \"minsn_per_s\": %.2f, \"tlb_lookups\": %.0f, \"tlb_misses\": %" PRIu64
		", \"misses_per_1000_lookups\": %.3f, \"tdp_walks\": %" PRIu64
		", \"vcpu_migrations\": %" PRIu64 ", \"pinned_pcpus\": %u, \"pcpus\": %u, "
		"\"cpus_per_worker\": %.2f, \"guest_pages_present\": %" PRIu64
		", \"guest_pages_on_node\": %" PRIu64 ", \"objects\": %" PRIu64
		", \"objects_on_node\": %" PRIu64 ", \"arena_bound_bytes\": %" PRIu64
		", \"pages_moved\": %" PRIu64 ", \"remote_accesses\": null}",
		tp->name, topo_nodes(tp), c->name, c->interleave ? "interleaved" : "node-local",
		c->floating ? "false" : "true",
		c->malloc_objects ? "plain malloc" : "per-node arenas",
		c->migrate == MIG_FAULT	 ? "hostmem.migrate=" MIGRATE_RATE
		: c->migrate == MIG_NUMA ? "numa-migrate"
					 : "none",
		g->seconds, g->min_s, g->max_s, b->seconds > 0 ? g->seconds / b->seconds : 0,
		g->setup_ms, g->teardown_ms, g->t.instructions,
		g->seconds > 0 ? (double)g->t.instructions / g->seconds / 1e6 : 0, lookups(&g->t),
		g->t.tlb_misses,
		lookups(&g->t) > 0 ? 1000.0 * (double)g->t.tlb_misses / lookups(&g->t) : 0,
		g->t.tdp_walks, g->migrations, g->pinned, g->pcpus, g->cpus_per_worker,
		g->mem_present, g->mem_on_node, g->obj_present, g->obj_on_node, g->arena_bound,
		g->t.pages_moved);
}

static int write_json(const char *path, const struct results *R, const struct numa_opts *o)
{
	FILE *f = fopen(path, "w");
	bool first = true;

	if (!f) {
		perror(path);
		return -1;
	}
	fprintf(f,
		"{\"bench\": \"numa\", \"quick\": %s, \"seconds\": %.2f, \"rounds\": %u, "
		"\"vcpus\": %u, \"pcpus\": %u, \"guest_mib\": %u, \"reps\": %u,\n"
		" \"host_nodes\": %u, \"host_cpus\": %ld, \"libnuma\": %s, "
		"\"node_arenas\": %s, \"remote_accesses_counted\": false,\n \"note\": \"%s\",\n",
		o->g.quick ? "true" : "false", R->seconds, o->g.rounds, VCPUS, PCPUS, GUEST_MIB,
		o->reps, rv_host_nr_nodes(), sysconf(_SC_NPROCESSORS_ONLN),
		numa_available() >= 0 ? "true" : "false", rv_node_pages_bound() ? "true" : "false",
		honest_note());
	fprintf(f, " \"guest_runs\": [");
	for (unsigned t = 0; t < NR_TOPOS; t++)
		for (unsigned c = 0; c < NR_GCFGS; c++) {
			if (gcfgs[c].migrate != MIG_NONE)
				continue;
			fprintf(f, "%s", first ? "" : ",");
			json_guest_row(f, &topos[t], &gcfgs[c], &R->g[t][c],
				       &R->g[t][gcfgs[c].base]);
			first = false;
		}
	fprintf(f, "],\n \"migration\": [");
	first = true;
	for (unsigned t = 0; t < NR_TOPOS; t++)
		for (unsigned c = 0; c < NR_GCFGS; c++) {
			const struct grun *g = &R->g[t][c], *b = &R->g[t][gcfgs[c].base];
			uint64_t n = g->t.pages_moved, fl = move_flushes(&gcfgs[c], g, b);

			if (gcfgs[c].migrate == MIG_NONE)
				continue;
			fprintf(f,
				"%s\n    {\"topology\": \"%s\", \"nodes\": %u, \"mode\": \"%s\", "
				"\"pcpus_pinned\": %s, \"remote_flushes\": %" PRIu64
				", \"moves\": %" PRIu64
				", \"run_s\": %.6f, \"baseline_run_s\": %.6f, "
				"\"extra_ms_per_move\": %.4f, \"wait_ms_per_flush\": %.4f, "
				"\"tlb_flush_posted_per_flush\": %.3f, "
				"\"tlb_flush_serviced_per_flush\": %.3f, \"kicks_per_flush\": "
				"%.3f, "
				"\"kick_exits_per_flush\": %.1f, \"waits\": %" PRIu64
				", \"tlb_misses\": %" PRIu64 "}",
				first ? "" : ",", topos[t].name, topo_nodes(&topos[t]),
				gcfgs[c].migrate == MIG_FAULT ? "hostmem.migrate=" MIGRATE_RATE
							      : "numa-migrate",
				gcfgs[c].floating ? "false" : "true", fl, n, g->seconds, b->seconds,
				n ? (g->seconds - b->seconds) * 1e3 / (double)n : 0,
				per(g->wait_ns, b->wait_ns, fl) / 1e6,
				per(g->flush_posted, b->flush_posted, fl),
				per(g->flush_serviced, b->flush_serviced, fl),
				per(g->kicks_sent, b->kicks_sent, fl),
				per(g->exits_kick, b->exits_kick, fl), g->waits, g->t.tlb_misses);
			first = false;
		}
	fprintf(f, "],\n \"guest_memory\": [");
	for (unsigned i = 0; i < NR_TOPOS * 2; i++) {
		const struct mem_row *m = &R->mem[i];

		fprintf(f,
			"%s\n    {\"topology\": \"%s\", \"nodes\": %u, \"layout\": \"%s\", "
			"\"mib\": %" PRIu64
			", \"create_ms\": %.3f, \"first_touch_ns_per_page\": %.1f, "
			"\"read_gb_per_s\": %.3f, \"large_leaves\": %u, \"chunks_2mib\": %u, "
			"\"pages_present\": %" PRIu64 ", \"pages_on_node\": %" PRIu64
			", \"destroy_ms\": %.3f}",
			i ? "," : "", m->topo->name, m->nodes,
			m->interleave ? "interleaved" : "node-local", o->mem_mib, m->create_ms,
			m->touch_ns, m->read_gbps, m->leaves, m->chunks, m->present, m->on_node,
			m->destroy_ms);
	}
	fprintf(f, "],\n \"host_objects\": [");
	for (unsigned i = 0; i < NR_TOPOS * 2; i++) {
		const struct obj_row *b = &R->obj[i];

		fprintf(f,
			"%s\n    {\"topology\": \"%s\", \"nodes\": %u, \"allocator\": \"%s\", "
			"\"vcpus\": %u, \"vm_create_ms\": %.3f, \"vm_destroy_ms\": %.3f, "
			"\"object_bytes\": %zu, \"alloc_free_ns\": %.2f, \"objects\": %" PRIu64
			", \"objects_present\": %" PRIu64 ", \"objects_on_node\": %" PRIu64
			", \"arena_bound_bytes\": %" PRIu64 "}",
			i ? "," : "", b->topo->name, b->nodes,
			b->arenas ? "per-node arenas" : "plain malloc", o->obj_vcpus, b->create_ms,
			b->destroy_ms, sizeof(struct rv_vcpu), b->alloc_ns, b->obj_asked,
			b->obj_present, b->obj_on_node, b->bound);
	}
	fprintf(f, "]}\n");
	return fclose(f) ? -1 : 0;
}

/* ---- the command ---- */

static void usage(FILE *out)
{
	fprintf(out,
		"usage: reqvisor-bench numa [--rounds N] [--json FILE] [--quick]\n"
		"\n"
		"NUMA placement side by side, on a declared 4-node topology (4 nodes of 1 pCPU,\n"
		"as reqvisor run --topology 4x1) and on the host's topology, 4 pCPUs each:\n"
		"  1. the built-in shootdown guest (%u vCPUs, a %u-page window) with node-local\n"
		"     vs interleaved guest memory, pinned vs floating pCPU workers, per-node\n"
		"     jemalloc arenas vs plain malloc for host objects: run time, Minsn/s, TLB\n"
		"     misses, set-up and teardown, and where the pages, objects and workers\n"
		"     really were (move_pages(2), affinity read back);\n"
		"  2. host-page moves (fault point hostmem.migrate=%s, and --numa-migrate):\n"
		"     time, flush wait, TLB_FLUSH requests, kicks and exits per move;\n"
		"  3. the guest-memory machinery: pool creation, first touch, a read pass, the\n"
		"     2 MiB second-stage leaves, pages on their node;\n"
		"  4. the host-object machinery: VM creation with and without per-node arenas,\n"
		"     and vCPU-sized allocations.\n"
		"On a one-node host the layouts cannot differ in hardware cost; the output says\n"
		"so, and what the figures show instead.\n"
		"\n"
		"  --rounds N    shootdown rounds per run, 1 to 100000 (default 12)\n"
		"  --json FILE   also write every row as JSON to FILE\n"
		"  --quick       2 rounds, one run per figure, 32 MiB, 64 vCPUs (a smoke test)\n",
		VCPUS, GUEST_PAGES, MIGRATE_RATE);
}

/*
 * Every figure @reps times, the configurations taking turns within each
 * repetition and starting each repetition at another one, so that a slow
 * spell of the host (other work, frequency, the page allocator after the
 * previous runs' frees) falls on all of them alike rather than on one.
 */
static int run_all(const struct numa_opts *o, struct results *R)
{
	static struct mem_samples ms[NR_TOPOS * 2];
	static struct obj_samples os[NR_TOPOS * 2];

	for (unsigned i = 0; i < NR_TOPOS * 2; i++) {
		struct mem_row *m = &R->mem[i];
		struct obj_row *b = &R->obj[i];

		m->topo = b->topo = &topos[i / 2];
		m->nodes = b->nodes = topo_nodes(&topos[i / 2]);
		m->interleave = i % 2;
		b->arenas = !(i % 2);
	}
	for (unsigned r = 0; r < o->reps; r++) {
		for (unsigned k = 0; k < NR_TOPOS * NR_GCFGS; k++) {
			unsigned j = (k + r * 3) % (NR_TOPOS * NR_GCFGS);
			unsigned t = j / NR_GCFGS, c = j % NR_GCFGS;

			if (run_guest(&topos[t], &gcfgs[c], o->g.rounds, &R->runs[t][c][r]))
				return -1;
		}
		for (unsigned k = 0; k < NR_TOPOS * 2; k++) {
			unsigned i = (k + r) % (NR_TOPOS * 2);
			struct mem_row *m = &R->mem[i];
			struct obj_row *b = &R->obj[i];

			if (mem_once(m->nodes, m->interleave, o->mem_mib << 20, m, &ms[i].create[r],
				     &ms[i].touch[r], &ms[i].gbps[r], &ms[i].destroy[r]) ||
			    obj_once(b->topo, b->arenas, o, b, &os[i].create[r], &os[i].destroy[r],
				     &os[i].alloc[r]))
				return -1;
		}
	}
	for (unsigned t = 0; t < NR_TOPOS; t++)
		for (unsigned c = 0; c < NR_GCFGS; c++)
			median_run(R->runs[t][c], o->reps, &R->g[t][c]);
	for (unsigned i = 0; i < NR_TOPOS * 2; i++) {
		mem_finish(&R->mem[i], &ms[i], o->reps);
		obj_finish(&R->obj[i], &os[i], o->reps);
	}
	return 0;
}

int bench_numa(int argc, char **argv)
{
	struct numa_opts o = { .g = { .cmd = "numa" } };
	struct results *R;
	double t0 = bench_mono_s();
	int rc;

	if (bench_asks_help(argc, argv)) {
		usage(stdout);
		return 0;
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int r = bench_guest_opt(argc, argv, &i, &o.g);

		if (r == 1)
			continue;
		return r ? r
			 : bench_bad_usage("numa",
					   a[0] == '-' ? "unknown option" : "unexpected argument",
					   a);
	}
	if (!o.g.rounds_set)
		o.g.rounds = o.g.quick ? 2 : 12;
	o.reps = o.g.quick ? 1 : 3;
	o.mem_mib = o.g.quick ? 32 : 256;
	o.obj_vcpus = o.g.quick ? 64 : 256;
	o.alloc_iters = o.g.quick ? 4096 : 65536;
	R = calloc(1, sizeof(*R));
	if (!R)
		return 1;
	printf("reqvisor-bench numa%s\n", o.g.quick ? " (quick)" : "");
	host_line(stdout);
	print_wrapped(honest_note());
	fflush(stdout);
	rc = run_all(&o, R);
	R->seconds = bench_mono_s() - t0;
	if (!rc) {
		print_guest(R, &o);
		print_migrate(R);
		print_mem(R, &o);
		print_obj(R, &o);
		printf("\n");
		print_wrapped(honest_note());
		printf("(%.1f s)\n", R->seconds);
		if (o.g.json_path && write_json(o.g.json_path, R, &o))
			rc = -1;
	}
	free(R);
	return rc ? 1 : 0;
}
