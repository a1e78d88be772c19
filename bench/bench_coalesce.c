// SPDX-License-Identifier: MIT
/*
 * reqvisor-bench coalesce (docs/performance.md, section 2): storms of mixed
 * requests posted between entries, and the hardware flushes that servicing
 * them executes, against the minimum an offline model of the same trace says
 * is necessary. Three strategies see the same trace, side by side:
 *
 * - eager: every post is a flush at once on every target, and a kick of
 *   every target (no bitmap, nothing coalesced);
 * - kvm: the request bitmaps with KVM's coalescing rules alone
 *   (RV_COALESCE_KVM);
 * - reqvisor: the bitmaps with reqvisor's rules (docs/requests.md C8, C9).
 *
 * The machine is the real one: the vendor backends' flush operations on each
 * pCPU's TLB, counted by the TLB, serviced by src/core/service.c. No guest
 * code runs; the benchmark plays the guest's side, posting with the real
 * broadcast (kicks counted by it) and entering each vCPU that has something
 * pending at the end of each storm. A fixed set of vCPUs is "in guest mode"
 * at each storm's start.
 *
 * The model knows nothing of the service code: per target and storm it takes
 * the requests posted and the pages listed and counts, per vendor and paging
 * mode, the operations that remove what was asked and no more than a
 * requested operation would. Efficiency = minimum / executed (1.00: none
 * wasted).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "bench_coalesce.h"
#include "bench_guest.h"
#include "kick.h"
#include "machine/machine.h"
#include "mmu/tlb.h"
#include "reqvisor/request.h"
#include "service.h"
#include "vm_impl.h"

extern const unsigned char rv_default_guest[];
extern const size_t rv_default_guest_len;

#define NR_VCPUS   8
#define NR_RUNNING 4 /* vCPUs 0-3 are in guest mode at each storm's start */
#define MAX_POSTS  8 /* per storm */
#define MAX_HV	   3 /* Hyper-V list posts per storm: at most 9 entries, no FIFO overflow */
#define PAGE_POOL  8 /* listed pages come from 8 pages, so lists overlap */
#define PAGE_BASE  0x40000000ull

enum kind { K_FLUSH, K_CURRENT, K_GUEST, K_HV_LIST, K_HV_SPACE, K_SYNC, NR_KINDS };

static const char *const kind_names[NR_KINDS] = {
	"TLB_FLUSH", "TLB_FLUSH_CURRENT", "TLB_FLUSH_GUEST", "HV list", "HV space", "MMU_SYNC",
};

struct post {
	enum kind kind;
	uint32_t targets; /* bit i: vCPU i */
	unsigned nr_entries;
	uint64_t entries[3];
};

enum strategy { EAGER, KVM, IMPROVED, NR_STRATEGIES };

static const char *const strategy_names[NR_STRATEGIES] = { "eager", "kvm", "reqvisor" };

struct cfg {
	const char *name;
	bool svm, tdp;
};

static const struct cfg cfgs[] = {
	{ "vmx, EPT", false, true },
	{ "vmx, shadow", false, false },
	{ "svm, NPT", true, true },
	{ "svm, shadow", true, false },
};

#define NR_CFGS (sizeof(cfgs) / sizeof(cfgs[0]))

struct counts {
	uint64_t posts, flushes, kicks;
	double ns_per_storm;
};

struct row {
	struct counts minimum, s[NR_STRATEGIES];
};

/* ---- the trace: the same for every strategy and the model ---- */

static uint64_t rnd(uint64_t *s)
{
	uint64_t x = (*s += 0x9e3779b97f4a7c15ull);

	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* Storm @k of the trace of @seed: its posts in @p, their number returned. */
static unsigned storm(uint64_t seed, uint32_t k, struct post *p)
{
	uint64_t s = seed ^ ((uint64_t)k * 0xd1b54a32d192ed03ull);
	unsigned n = 1 + rnd(&s) % MAX_POSTS, hv = 0;

	for (unsigned i = 0; i < n; i++) {
		p[i].kind = (enum kind)(rnd(&s) % NR_KINDS);
		if (p[i].kind == K_HV_LIST && hv++ == MAX_HV)
			p[i].kind = K_HV_SPACE;
		/* Most posts go to a few vCPUs; one in four to all of them. */
		p[i].targets = rnd(&s) % 4 ? (uint32_t)(rnd(&s) % ((1u << NR_VCPUS) - 1)) + 1
					   : (1u << NR_VCPUS) - 1;
		p[i].nr_entries = p[i].kind == K_HV_LIST ? 1 + rnd(&s) % 3 : 0;
		for (unsigned e = 0; e < p[i].nr_entries; e++)
			p[i].entries[e] = (PAGE_BASE + (rnd(&s) % PAGE_POOL) * 4096) | rnd(&s) % 3;
	}
	return n;
}

/* ---- the model ---- */

struct need {
	bool all, current, guest, hv, hv_space;
	uint64_t pages; /* bit i: page PAGE_BASE + i * 4096 listed */
};

static void model_add(struct need *w, const struct post *p)
{
	switch (p->kind) {
	case K_FLUSH:
		w->all = true;
		break;
	case K_CURRENT:
		w->current = true;
		break;
	case K_GUEST:
		w->guest = true;
		break;
	case K_HV_SPACE:
		w->hv = w->hv_space = true;
		break;
	case K_HV_LIST:
		w->hv = true;
		for (unsigned e = 0; e < p->nr_entries; e++)
			for (uint64_t i = 0; i <= (p->entries[e] & 4095); i++)
				w->pages |=
					1ull
					<< (((p->entries[e] & ~4095ull) - PAGE_BASE) / 4096 + i);
		break;
	default: /* MMU_SYNC: a sync, never a TLB flush */
		break;
	}
}

/*
 * The fewest TLB operations that remove what @w asks, each no wider than an
 * operation the requests name. VMX with EPT: guest-physical and combined
 * entries (INVEPT, global for TLB_FLUSH, which covers the single-context
 * one), and apart from them linear ones (one INVVPID single-context for a
 * guest or space flush, which covers listed pages, else one per distinct
 * page). VMX with shadow paging: every request is an INVVPID (all-context
 * covers single-context), a Hyper-V flush a guest flush. SVM: all, current
 * and guest flushes are one ASID flush at the VMRUN, which covers listed
 * pages; with shadow paging a Hyper-V flush is a guest flush too.
 */
static uint64_t model_flushes(const struct cfg *c, const struct need *w)
{
	uint64_t pages = (uint64_t)__builtin_popcountll(w->pages);
	bool context;

	if (!c->svm && c->tdp)
		return (w->all || w->current) + (w->guest || w->hv_space ? 1 : pages);
	if (!c->tdp)
		return w->all || w->current || w->guest || w->hv;
	context = w->all || w->current || w->guest || w->hv_space;
	return context ? 1 : pages;
}

static void model(const struct cfg *c, uint64_t seed, uint32_t storms, struct counts *out)
{
	struct post p[MAX_POSTS];

	memset(out, 0, sizeof(*out));
	for (uint32_t k = 0; k < storms; k++) {
		struct need w[NR_VCPUS] = { 0 };
		uint32_t posted = 0;
		unsigned n = storm(seed, k, p);

		for (unsigned i = 0; i < n; i++) {
			out->posts++;
			posted |= p[i].targets;
			for (unsigned t = 0; t < NR_VCPUS; t++)
				if (p[i].targets & (1u << t))
					model_add(&w[t], &p[i]);
		}
		for (unsigned t = 0; t < NR_VCPUS; t++)
			out->flushes += model_flushes(c, &w[t]);
		/* One kick for each vCPU in guest mode that anything reached. */
		out->kicks += (uint64_t)__builtin_popcount(posted & ((1u << NR_RUNNING) - 1));
	}
}

/* ---- the machine ---- */

struct rig {
	struct rv_machine *m;
	struct rv_vm *vm;
	const struct rv_vendor_ops *ops;
};

static int rig_create(struct rig *r, const struct cfg *c, enum rv_coalesce coalesce)
{
	struct rv_machine_config mc = {
		.image = rv_default_guest,
		.image_len = rv_default_guest_len,
		.mem_size = 32 << 20,
		.nr_vcpus = NR_VCPUS,
		.vendor_amd = c->svm,
		.shadow = !c->tdp,
		.hyperv = true,
	};
	struct rv_vm_config vc = {
		.nr_vcpus = NR_VCPUS,
		.nr_pcpus = NR_VCPUS,
		.nr_nodes = 1,
		.executor = RV_EXEC_DETERMINISTIC,
		.seed = 1,
		.shadow_paging = !c->tdp,
		.coalesce = coalesce,
		.backend = &rv_machine_backend,
	};
	char err[256];

	r->m = rv_machine_create(&mc, err, sizeof(err));
	if (!r->m) {
		fprintf(stderr, "reqvisor-bench coalesce: %s\n", err);
		return -1;
	}
	vc.backend_ctx = r->m;
	vc.vendor = r->ops = rv_machine_vendor(r->m);
	if (rv_vm_create(&vc, &r->vm, err, sizeof(err))) {
		fprintf(stderr, "reqvisor-bench coalesce: %s\n", err);
		rv_machine_destroy(r->m);
		return -1;
	}
	/* vCPU i on pCPU i, entered once: what it holds now is not counted. */
	for (uint32_t i = 0; i < NR_VCPUS; i++) {
		struct rv_vcpu *v = rv_vm_vcpu(r->vm, i);

		atomic_store(&v->pcpu, r->vm->pcpus[i]);
		r->ops->vcpu_load(v, r->vm->pcpus[i], NULL);
		rv_service_requests(v);
		r->ops->prepare_entry(v);
	}
	return 0;
}

static void rig_destroy(struct rig *r)
{
	rv_vm_destroy(r->vm);
	rv_machine_destroy(r->m);
}

/* The TLB operations so far. On SVM an ASID flush is one TLB_CONTROL, which
 * the software TLB carries out as two calls (the ASID's entries, then the
 * nested table's guest-physical ones): counted once. */
static uint64_t tlb_flushes(struct rig *r, bool svm)
{
	struct rv_machine_totals t;
	uint64_t n = 0;

	rv_machine_totals(r->m, r->vm, &t);
	for (int op = 0; op < RV_TLB_NR_FLUSH_OPS; op++)
		n += t.flush_calls[op];
	return svm ? n - t.flush_calls[RV_TLB_FLUSH_EPTRTA] : n;
}

static const uint32_t post_req[NR_KINDS] = {
	[K_FLUSH] = RV_REQ_TLB_FLUSH,	    [K_CURRENT] = RV_REQ_TLB_FLUSH_CURRENT,
	[K_GUEST] = RV_REQ_TLB_FLUSH_GUEST, [K_HV_LIST] = RV_REQ_HV_TLB_FLUSH,
	[K_HV_SPACE] = RV_REQ_HV_TLB_FLUSH, [K_SYNC] = RV_REQ_MMU_SYNC,
};

/* The caller's side of a Hyper-V flush: entries first, then the request. */
static void push(struct rv_vcpu *v, const struct post *p)
{
	if (p->kind == K_HV_LIST || p->kind == K_HV_SPACE)
		rv_hv_fifo_push(&v->hv_fifo[RV_HV_L1], p->entries, p->nr_entries);
}

static void enter(struct rig *r, struct rv_vcpu *v)
{
	rv_service_requests(v);
	r->ops->prepare_entry(v);
}

static void set_modes(struct rig *r)
{
	for (uint32_t i = 0; i < NR_VCPUS; i++)
		atomic_store(&rv_vm_vcpu(r->vm, i)->mode,
			     i < NR_RUNNING ? RV_IN_GUEST_MODE : RV_OUTSIDE_GUEST_MODE);
}

static void post_eager(struct rig *r, const struct post *p, struct counts *out)
{
	for (uint32_t t = 0; t < NR_VCPUS; t++) {
		struct rv_vcpu *v = rv_vm_vcpu(r->vm, t);

		if (!(p->targets & (1u << t)))
			continue;
		push(v, p);
		rv_make_request(v, post_req[p->kind]);
		enter(r, v); /* the flush, at once */
		out->kicks++;
	}
}

static void post_bitmap(struct rig *r, const struct post *p, struct counts *out)
{
	struct rv_vcpu_mask mask = { 0 };
	struct rv_bcast_count bc = { 0 };

	for (uint32_t t = 0; t < NR_VCPUS; t++) {
		if (!(p->targets & (1u << t)))
			continue;
		push(rv_vm_vcpu(r->vm, t), p);
		rv_mask_set(&mask, t);
	}
	rv_broadcast(r->vm, post_req[p->kind] | RV_REQ_NO_WAKEUP, &mask, NULL, NULL, &bc);
	out->kicks += bc.kicks;
}

static int run_strategy(const struct cfg *c, enum strategy st, uint64_t seed, uint32_t storms,
			struct counts *out)
{
	struct rig r;
	struct post p[MAX_POSTS];
	uint64_t before, t0, t1;

	if (rig_create(&r, c, st == KVM ? RV_COALESCE_KVM : RV_COALESCE_IMPROVED))
		return -1;
	memset(out, 0, sizeof(*out));
	before = tlb_flushes(&r, c->svm);
	t0 = bench_tsc_begin();
	for (uint32_t k = 0; k < storms; k++) {
		unsigned n = storm(seed, k, p);

		set_modes(&r);
		for (unsigned i = 0; i < n; i++) {
			out->posts++;
			if (st == EAGER)
				post_eager(&r, &p[i], out);
			else
				post_bitmap(&r, &p[i], out);
		}
		for (uint32_t t = 0; st != EAGER && t < NR_VCPUS; t++) {
			struct rv_vcpu *v = rv_vm_vcpu(r.vm, t);

			if (rv_request_pending(v))
				enter(&r, v);
		}
	}
	t1 = bench_tsc_end();
	out->flushes = tlb_flushes(&r, c->svm) - before;
	out->ns_per_storm = bench_ticks_ns(t1 - t0) / storms;
	rig_destroy(&r);
	return 0;
}

/* ---- the report ---- */

static double efficiency(const struct counts *min, const struct counts *c)
{
	return c->flushes ? (double)min->flushes / (double)c->flushes : 1.0;
}

static void print_rows(const struct row *rows, uint32_t storms)
{
	printf("\n%-12s %-9s %9s %9s %10s %8s %11s\n", "config", "strategy", "posts", "flushes",
	       "efficiency", "kicks", "ns/storm");
	for (unsigned i = 0; i < NR_CFGS; i++) {
		const struct row *r = &rows[i];

		printf("%-12s %-9s %9" PRIu64 " %9" PRIu64 " %10s %8" PRIu64 " %11s\n",
		       cfgs[i].name, "minimum", r->minimum.posts, r->minimum.flushes, "1.00",
		       r->minimum.kicks, "-");
		for (int s = 0; s < NR_STRATEGIES; s++)
			printf("%-12s %-9s %9" PRIu64 " %9" PRIu64 " %10.2f %8" PRIu64 " %11.0f\n",
			       "", strategy_names[s], r->s[s].posts, r->s[s].flushes,
			       efficiency(&r->minimum, &r->s[s]), r->s[s].kicks,
			       r->s[s].ns_per_storm);
	}
	printf("\n%u storms of 1-%u posts (", storms, MAX_POSTS);
	for (int k = 0; k < NR_KINDS; k++)
		printf("%s%s", k ? ", " : "", kind_names[k]);
	printf(") to %u vCPUs, %u of them in guest mode;\nflushes: TLB operations executed "
	       "(INVEPT, INVVPID, TLB_CONTROL at VMRUN, INVLPGA); minimum: the offline model;\n"
	       "efficiency = minimum / flushes (target 1.00 for reqvisor); kicks: minimum = "
	       "one per vCPU in guest mode that a post reached.\n",
	       NR_VCPUS, NR_RUNNING);
	for (unsigned i = 0; i < NR_CFGS; i++) {
		double e = efficiency(&rows[i].minimum, &rows[i].s[IMPROVED]);

		printf("%s: reqvisor %.2f (%s), kvm %.2f, eager %.2f; kicks reqvisor %s\n",
		       cfgs[i].name, e, e >= 0.995 ? "PASS" : "MISS",
		       efficiency(&rows[i].minimum, &rows[i].s[KVM]),
		       efficiency(&rows[i].minimum, &rows[i].s[EAGER]),
		       rows[i].s[IMPROVED].kicks == rows[i].minimum.kicks ? "= minimum"
									  : "!= minimum");
	}
}

static void json_counts(FILE *f, const char *cfg, const char *strategy, const struct counts *min,
			const struct counts *c, bool last)
{
	fprintf(f,
		"  {\"config\": \"%s\", \"strategy\": \"%s\", \"posts\": %" PRIu64
		", \"flushes\": %" PRIu64 ", \"minimum_flushes\": %" PRIu64
		", \"efficiency\": %.4f, \"kicks\": %" PRIu64 ", \"minimum_kicks\": %" PRIu64
		", \"ns_per_storm\": %.1f}%s\n",
		cfg, strategy, c->posts, c->flushes, min->flushes, efficiency(min, c), c->kicks,
		min->kicks, c->ns_per_storm, last ? "" : ",");
}

static int write_json(const char *path, const struct row *rows, uint32_t storms, uint64_t seed)
{
	FILE *f = fopen(path, "w");

	if (!f) {
		perror(path);
		return -1;
	}
	fprintf(f,
		"{\"bench\": \"coalesce\", \"storms\": %u, \"seed\": %" PRIu64
		", \"vcpus\": %u, \"in_guest\": %u, \"target_efficiency\": 1.0, \"rows\": [\n",
		storms, seed, NR_VCPUS, NR_RUNNING);
	for (unsigned i = 0; i < NR_CFGS; i++) {
		json_counts(f, cfgs[i].name, "minimum", &rows[i].minimum, &rows[i].minimum, false);
		for (int s = 0; s < NR_STRATEGIES; s++)
			json_counts(f, cfgs[i].name, strategy_names[s], &rows[i].minimum,
				    &rows[i].s[s], i + 1 == NR_CFGS && s + 1 == NR_STRATEGIES);
	}
	fprintf(f, "]}\n");
	return fclose(f) ? -1 : 0;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: reqvisor-bench coalesce [--storms N] [--seed S] [--json FILE] [--quick]\n"
		"\n"
		"Storms of mixed requests (TLB_FLUSH, TLB_FLUSH_CURRENT, TLB_FLUSH_GUEST,\n"
		"Hyper-V list and space flushes, MMU_SYNC) posted to %u vCPUs between their\n"
		"entries, on each vendor and paging mode. The TLB operations executed under\n"
		"three strategies -- eager (flush at every post, kick every target), kvm\n"
		"(KVM's coalescing rules) and reqvisor (docs/requests.md C8, C9) -- beside the\n"
		"minimum an offline model of the same trace says is necessary.\n"
		"\n"
		"  --storms N    storms per strategy (default 20000), 1 to 10000000\n"
		"  --seed S      the trace's seed (default 1)\n"
		"  --json FILE   also write the figures as JSON to FILE\n"
		"  --quick       2000 storms\n",
		NR_VCPUS);
}

int bench_coalesce(int argc, char **argv)
{
	uint32_t storms = 0, seed = 1;
	const char *json = NULL;
	bool quick = false;
	struct row rows[NR_CFGS];

	if (bench_asks_help(argc, argv)) {
		usage(stdout);
		return 0;
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--quick")) {
			quick = true;
		} else if (!strcmp(a, "--json") && i + 1 < argc && argv[i + 1][0]) {
			json = argv[++i];
		} else if (!strcmp(a, "--storms") && i + 1 < argc) {
			if (bench_parse_u32(argv[++i], 1, 10000000, &storms))
				return bench_bad_usage(
					"coalesce", "--storms wants 1 to 10000000, not", argv[i]);
		} else if (!strcmp(a, "--seed") && i + 1 < argc) {
			if (bench_parse_u32(argv[++i], 0, UINT32_MAX, &seed))
				return bench_bad_usage("coalesce", "--seed wants a number, not",
						       argv[i]);
		} else {
			return bench_bad_usage("coalesce",
					       a[0] == '-' ? "unknown option or missing value"
							   : "unexpected argument",
					       a);
		}
	}
	if (!storms)
		storms = quick ? 2000 : 20000;
	if (bench_clock_init(true))
		return 1;
	printf("reqvisor-bench coalesce: %u storms per strategy, seed %u, %u vCPUs (%u in guest "
	       "mode), the machine's vendor backends\n",
	       storms, seed, NR_VCPUS, NR_RUNNING);
	fflush(stdout);
	for (unsigned i = 0; i < NR_CFGS; i++) {
		model(&cfgs[i], seed, storms, &rows[i].minimum);
		for (int s = 0; s < NR_STRATEGIES; s++)
			if (run_strategy(&cfgs[i], (enum strategy)s, seed, storms, &rows[i].s[s]))
				return 1;
	}
	print_rows(rows, storms);
	return json && write_json(json, rows, storms, seed) ? 1 : 0;
}
