// SPDX-License-Identifier: MIT
/*
 * pcid: PCIDs, the CR3 no-flush bit, global pages and INVPCID types 0-3,
 * checked against what the SDM guarantees (Vol. 3A §4.10.4) and no more.
 *
 * Each vCPU builds four roots (clones of the boot tables), root r always
 * loaded with PCID root_pcid[r], each mapping the same four window slots to
 * its own frames. Every frame starts with a marker naming the vCPU and the
 * frame, so a read tells which translation the CPU used. All vCPUs use the
 * same window addresses and PCIDs: a TLB that mixed up vCPUs would show.
 *
 * A TLB may keep or drop any entry the architecture does not tell it to
 * drop, so a read can only be checked against a set of frames. The guest
 * keeps that set in a model: for each PCID and slot, the frames a non-global
 * entry may still hold, and for each slot the frames a global entry may
 * hold. While a root is current, the CPU may cache any translation its
 * tables give, at any time, so each current translation joins the set; an
 * invalidation empties exactly the sets the SDM says it covers. A read must
 * give a frame in the union of the current PCID's set, the global set and
 * the current PTE. Where an invalidation leaves only the current PTE, the
 * check is strict, and the test asserts that the model agrees it is.
 *
 * Only leaf PTEs change, and every root keeps its PCID, so stale
 * paging-structure caches can only lead to current leaves of the same root.
 */
#include "rv.h"

#define WINDOW 0x0000010000000000ull /* 1 TiB: its own PML4 slot, above any RAM */
#define NROOT  4
#define NSLOT  4
#define NFRAME 32	   /* bits of a u32 set */
#define MARK   0x50434944u /* "PCID" */

#define STRICT true
#define LOOSE  false

/* A check's own number is its exit code; these are the others. */
enum {
	CHECK_MODEL = 98, /* the test expected a strict check the model calls loose: a test bug */
};

static const u16 root_pcid[NROOT] = { 0, 1, 2, 0xfff };

struct model {
	u8 frame[NROOT][NSLOT];
	bool global[NROOT][NSLOT];
	u32 cached[NROOT][NSLOT]; /* frames an entry tagged with root r's PCID may hold */
	u32 gcached[NSLOT];	  /* frames a global entry may hold */
	int cur;		  /* the current root */
	bool pcide, pge;
};

struct pcid_test {
	unsigned cpu;
	u64 root[NROOT];
	u64 *pte[NROOT][NSLOT];
	u64 frame_pa[NFRAME];
	unsigned next, checks, strict;
	struct model m;
};

static struct rv_barrier sync_point = RV_BARRIER_INIT(0);
static u32 total_checks, total_strict;

static u64 slot_va(unsigned s)
{
	return WINDOW + s * RV_PAGE_SIZE;
}

/* ---- The model and the operations it follows ---- */

/* Everything the current root maps now may be cached from now on. */
static void refresh(struct model *m)
{
	for (unsigned s = 0; s < NSLOT; s++) {
		u32 bit = 1u << m->frame[m->cur][s];

		if (m->global[m->cur][s] && m->pge)
			m->gcached[s] |= bit;
		else
			m->cached[m->cur][s] |= bit;
	}
}

static void forget_pcid(struct model *m, int r)
{
	for (unsigned s = 0; s < NSLOT; s++)
		m->cached[r][s] = 0;
}

static void forget_all(struct model *m, bool globals)
{
	for (int r = 0; r < NROOT; r++)
		forget_pcid(m, r);
	for (unsigned s = 0; globals && s < NSLOT; s++)
		m->gcached[s] = 0;
}

static bool frame_in_use(const struct model *m, unsigned f)
{
	u32 bit = 1u << f;

	for (int r = 0; r < NROOT; r++) {
		for (unsigned s = 0; s < NSLOT; s++) {
			if (m->frame[r][s] == f || (m->cached[r][s] & bit) || (m->gcached[s] & bit))
				return true;
		}
	}
	return false;
}

/* A frame no translation may lead to, so that reading it tells something. */
static unsigned fresh_frame(struct pcid_test *t)
{
	for (unsigned i = 0; i < NFRAME; i++) {
		unsigned f = (t->next + i) % NFRAME;

		if (!frame_in_use(&t->m, f)) {
			t->next = f + 1;
			return f;
		}
	}
	rv_fail(CHECK_MODEL, "pcid: no fresh frame left");
}

static void set_pte(struct pcid_test *t, int r, unsigned s, bool global)
{
	unsigned f = fresh_frame(t);

	rv_xchg(t->pte[r][s],
		t->frame_pa[f] | RV_PTE_P | RV_PTE_W | RV_PTE_NX | (global ? RV_PTE_G : 0));
	t->m.frame[r][s] = (u8)f;
	t->m.global[r][s] = global;
	if (r == t->m.cur)
		refresh(&t->m);
}

/* MOV to CR3: without the no-flush bit it drops the new PCID's non-global entries. */
static void load_cr3(struct pcid_test *t, int r, bool noflush)
{
	if (!t->m.pcide) {
		/* With PCIDE=0 everything is PCID 0, which only root 0 may use here. */
		if (r != 0 || noflush)
			rv_fail(CHECK_MODEL, "pcid: root %d loaded with PCIDE=0", r);
		rv_write_cr3(t->root[0]);
	} else {
		rv_write_cr3_pcid(t->root[r], root_pcid[r], noflush);
	}
	if (!noflush)
		forget_pcid(&t->m, r);
	t->m.cur = r;
	refresh(&t->m);
}

/* INVLPG: the current PCID's entries for the page, and global ones for it in any PCID. */
static void invlpg(struct pcid_test *t, unsigned s)
{
	rv_invlpg(slot_va(s));
	t->m.cached[t->m.cur][s] = 0;
	t->m.gcached[s] = 0;
	refresh(&t->m);
}

static void invpcid(struct pcid_test *t, unsigned type, int r, unsigned s)
{
	rv_invpcid(type, root_pcid[r], slot_va(s));
	switch (type) {
	case RV_INVPCID_ADDRESS:
		t->m.cached[r][s] = 0;
		break;
	case RV_INVPCID_CONTEXT:
		forget_pcid(&t->m, r);
		break;
	case RV_INVPCID_ALL_GLOBAL:
		forget_all(&t->m, true);
		break;
	case RV_INVPCID_ALL:
		forget_all(&t->m, false);
		break;
	}
	refresh(&t->m);
}

/*
 * MOV to CR4: changing PGE, or clearing PCIDE, drops every entry. Setting
 * PCIDE drops nothing, and needs CR3[11:0] = 0: root 0 with PCID 0.
 */
static void set_cr4(struct pcid_test *t, bool pge, bool pcide)
{
	u64 cr4 = rv_read_cr4() & ~(RV_CR4_PGE | RV_CR4_PCIDE);

	if (t->m.cur != 0)
		rv_fail(CHECK_MODEL, "pcid: CR4.PCIDE toggled away from root 0");
	rv_write_cr4(cr4 | (pge ? RV_CR4_PGE : 0) | (pcide ? RV_CR4_PCIDE : 0));
	if (pge != t->m.pge || (t->m.pcide && !pcide))
		forget_all(&t->m, true);
	t->m.pge = pge;
	t->m.pcide = pcide;
	refresh(&t->m);
}

/* ---- Checks ---- */

static void check(struct pcid_test *t, unsigned code, const char *what, unsigned s, bool strict)
{
	const struct model *m = &t->m;
	u64 v = rv_read_once(*(volatile u64 *)(uintptr_t)slot_va(s));
	u32 allowed = m->cached[m->cur][s] | m->gcached[s] | 1u << m->frame[m->cur][s];
	unsigned f = v & 0xff;

	if (strict && rv_popcount(allowed) != 1)
		rv_fail(CHECK_MODEL,
			"pcid: check %u (%s) slot %u: expected strict, the model allows %#x", code,
			what, s, allowed);
	if (v >> 32 != MARK || (v >> 8 & 0xffffff) != t->cpu || f >= NFRAME)
		rv_fail(code, "pcid: %s: slot %u under PCID %#x reads %#lx, no frame of this vCPU",
			what, s, root_pcid[m->cur], v);
	if (!(allowed & 1u << f))
		rv_fail(code,
			"pcid: %s: slot %u under PCID %#x reads frame %u; the architecture allows "
			"only frames %#x (the PTE maps %u)",
			what, s, root_pcid[m->cur], f, allowed, m->frame[m->cur][s]);
	t->checks++;
	t->strict += rv_popcount(allowed) == 1;
}

static void check_all(struct pcid_test *t, unsigned code, const char *what, bool strict)
{
	for (unsigned s = 0; s < NSLOT; s++)
		check(t, code, what, s, strict);
}

static void check_cr(unsigned code, const char *name, u64 got, u64 want)
{
	if (got != want)
		rv_fail(code, "pcid: %s reads %#lx, want %#lx", name, got, want);
}

/* ---- Set-up ---- */

static void setup(struct pcid_test *t, unsigned cpu)
{
	t->cpu = cpu;
	t->m.pge = true; /* the boot CR4 has PGE */
	for (unsigned f = 0; f < NFRAME; f++) {
		t->frame_pa[f] = (u64)(uintptr_t)rv_page_alloc();
		*(u64 *)rv_phys(t->frame_pa[f]) = (u64)MARK << 32 | (u64)cpu << 8 | f;
	}
	for (int r = 0; r < NROOT; r++) {
		t->root[r] = rv_pt_clone(rv_boot_cr3);
		for (unsigned s = 0; s < NSLOT; s++) {
			/* Create the tables first; set_pte then picks a frame. */
			t->pte[r][s] = rv_pt_pte(t->root[r], slot_va(s));
			t->m.cur = -1;
			set_pte(t, r, s, false);
		}
	}
	t->m.cur = 0;
}

/* ---- The sequence ---- */

/* CR4.PCIDE=0: everything is PCID 0. */
static void without_pcid(struct pcid_test *t)
{
	load_cr3(t, 0, false);
	check_all(t, 1, "first CR3 load", STRICT);

	set_pte(t, 0, 0, false);
	check(t, 2, "PTE changed, no invalidation", 0, LOOSE);
	invlpg(t, 0);
	check(t, 3, "INVLPG after a PTE change", 0, STRICT);

	set_pte(t, 0, 1, false);
	load_cr3(t, 0, false);
	check_all(t, 4, "CR3 load after a PTE change", STRICT);

	/* A global entry survives CR3 loads, but not INVLPG or a PGE toggle. */
	set_pte(t, 0, 2, true);
	invlpg(t, 2);
	check(t, 5, "INVLPG of a global page", 2, STRICT);
	set_pte(t, 0, 2, true);
	load_cr3(t, 0, false);
	check(t, 6, "global page changed, CR3 loaded", 2, LOOSE);
	set_cr4(t, false, false);
	check_all(t, 7, "CR4.PGE cleared", STRICT);
	set_cr4(t, true, false);
	check_all(t, 8, "CR4.PGE set again", STRICT);
	set_pte(t, 0, 2, true);
	check(t, 9, "global page changed", 2, LOOSE);
	invlpg(t, 2);
	check(t, 10, "INVLPG of a changed global page", 2, STRICT);

	/* INVPCID works on PCID 0 without PCIDE. */
	set_pte(t, 0, 3, false);
	invpcid(t, RV_INVPCID_ADDRESS, 0, 3);
	check(t, 11, "INVPCID 0 with PCIDE=0", 3, STRICT);
	set_pte(t, 0, 0, false);
	set_pte(t, 0, 1, false);
	invpcid(t, RV_INVPCID_CONTEXT, 0, 0);
	check(t, 12, "INVPCID 1 with PCIDE=0", 0, STRICT);
	check(t, 12, "INVPCID 1 with PCIDE=0", 1, STRICT);

	/* Leave no global mapping behind. */
	set_pte(t, 0, 2, false);
	invpcid(t, RV_INVPCID_ALL_GLOBAL, 0, 0);
	check_all(t, 13, "INVPCID 2 with PCIDE=0", STRICT);
}

/* CR4.PCIDE=1: switching PCIDs with and without the no-flush bit. */
static void switching(struct pcid_test *t)
{
	set_cr4(t, true, true);
	check_cr(20, "CR4", rv_read_cr4() & RV_CR4_PCIDE, RV_CR4_PCIDE);
	check_all(t, 21, "PCIDE set", STRICT);

	load_cr3(t, 1, false);
	check_cr(22, "CR3 with PCID 1", rv_read_cr3(), t->root[1] | 1);
	check_all(t, 23, "first load of PCID 1", STRICT);
	load_cr3(t, 2, false);
	check_all(t, 24, "first load of PCID 2", STRICT);
	load_cr3(t, 3, false);
	check_cr(25, "CR3 with PCID 0xfff", rv_read_cr3(), t->root[3] | 0xfff);
	check_all(t, 26, "first load of PCID 0xfff", STRICT);

	/* Kept entries belong to their PCID: other roots map other frames. */
	load_cr3(t, 1, true);
	check_cr(27, "CR3 after a no-flush load (bit 63 is not stored)", rv_read_cr3(),
		 t->root[1] | 1);
	check_all(t, 28, "no-flush switch to PCID 1", STRICT);
	load_cr3(t, 2, true);
	check_all(t, 29, "no-flush switch to PCID 2", STRICT);
	load_cr3(t, 0, true);
	check_all(t, 30, "no-flush switch to PCID 0", STRICT);

	/* A no-flush load may keep a stale entry; a flushing one may not. */
	set_pte(t, 1, 0, false);
	load_cr3(t, 1, true);
	check(t, 31, "PTE changed while PCID 1 was away, no-flush switch", 0, LOOSE);
	load_cr3(t, 1, false);
	check_all(t, 32, "flushing reload of PCID 1", STRICT);

	set_pte(t, 1, 1, false);
	invlpg(t, 1);
	check(t, 33, "INVLPG in PCID 1", 1, STRICT);
}

static void invpcid_types(struct pcid_test *t)
{
	/* Type 0, another PCID's address; then the current PCID's. */
	set_pte(t, 2, 2, false);
	invpcid(t, RV_INVPCID_ADDRESS, 2, 2);
	load_cr3(t, 2, true);
	check_all(t, 40, "INVPCID 0 for PCID 2 from PCID 1", STRICT);
	set_pte(t, 2, 3, false);
	invpcid(t, RV_INVPCID_ADDRESS, 2, 3);
	check(t, 41, "INVPCID 0 for the current PCID", 3, STRICT);

	/* Type 1, another context; then the current one. */
	for (unsigned s = 0; s < NSLOT; s++)
		set_pte(t, 1, s, false);
	invpcid(t, RV_INVPCID_CONTEXT, 1, 0);
	load_cr3(t, 1, true);
	check_all(t, 42, "INVPCID 1 for PCID 1 from PCID 2", STRICT);
	for (unsigned s = 0; s < NSLOT; s++)
		set_pte(t, 1, s, false);
	invpcid(t, RV_INVPCID_CONTEXT, 1, 0);
	check_all(t, 43, "INVPCID 1 for the current PCID", STRICT);

	/* Types 2 and 3: every context. */
	static const unsigned all_types[] = { RV_INVPCID_ALL_GLOBAL, RV_INVPCID_ALL };

	for (unsigned i = 0; i < RV_ARRAY_SIZE(all_types); i++) {
		unsigned type = all_types[i], code = 44 + 4 * i;

		set_pte(t, 0, 0, false);
		set_pte(t, 2, 1, false);
		set_pte(t, 3, 2, false);
		set_pte(t, 1, 3, false);
		invpcid(t, type, 0, 0);
		check_all(t, code, "INVPCID 2/3, current PCID", STRICT);
		load_cr3(t, 0, true);
		check_all(t, code + 1, "INVPCID 2/3, PCID 0", STRICT);
		load_cr3(t, 2, true);
		check_all(t, code + 2, "INVPCID 2/3, PCID 2", STRICT);
		load_cr3(t, 3, true);
		check_all(t, code + 3, "INVPCID 2/3, PCID 0xfff", STRICT);
		load_cr3(t, 1, true);
	}
}

/* A global entry from one PCID may serve another, until a global invalidation. */
static void globals(struct pcid_test *t)
{
	set_pte(t, 1, 0, true);
	invlpg(t, 0);
	check(t, 60, "global page in PCID 1", 0, STRICT);
	load_cr3(t, 2, false);
	check(t, 61, "PCID 2, PCID 1's global page at the same address", 0, LOOSE);
	invpcid(t, RV_INVPCID_CONTEXT, 2, 0);
	check(t, 62, "INVPCID 1 keeps global entries", 0, LOOSE);
	invpcid(t, RV_INVPCID_ADDRESS, 2, 0);
	check(t, 63, "INVPCID 0 keeps global entries", 0, LOOSE);
	invpcid(t, RV_INVPCID_ALL, 0, 0);
	check(t, 64, "INVPCID 3 keeps global entries", 0, LOOSE);
	invpcid(t, RV_INVPCID_ALL_GLOBAL, 0, 0);
	check(t, 65, "INVPCID 2 drops global entries", 0, STRICT);

	load_cr3(t, 1, true);
	check(t, 66, "back to PCID 1 after INVPCID 2", 0, STRICT);
	load_cr3(t, 2, true);
	check(t, 67, "PCID 2 again after PCID 1 used its global page", 0, LOOSE);
	invlpg(t, 0);
	check(t, 68, "INVLPG drops global entries of any PCID", 0, STRICT);

	load_cr3(t, 1, true);
	load_cr3(t, 0, true);
	check(t, 69, "PCID 0 after PCID 1 used its global page", 0, LOOSE);
	set_cr4(t, false, true);
	check_all(t, 70, "CR4.PGE cleared with PCIDE=1", STRICT);
	set_cr4(t, true, true);
	check_all(t, 71, "CR4.PGE set with PCIDE=1", STRICT);

	set_pte(t, 1, 0, false);
	invpcid(t, RV_INVPCID_ALL_GLOBAL, 0, 0);
}

/* Clearing PCIDE drops every entry of every PCID. */
static void pcide_off(struct pcid_test *t)
{
	set_pte(t, 0, 1, false);
	set_pte(t, 1, 2, false);
	set_pte(t, 3, 3, true);
	load_cr3(t, 3, true);
	load_cr3(t, 0, true);
	set_cr4(t, true, false);
	check_all(t, 80, "PCIDE cleared", STRICT);
	set_cr4(t, true, true);
	load_cr3(t, 1, true);
	check_all(t, 81, "PCID 1 after PCIDE was cleared", STRICT);
	load_cr3(t, 3, true);
	check_all(t, 82, "PCID 0xfff after PCIDE was cleared", STRICT);
	load_cr3(t, 0, true);
}

/* ---- #GP cases the SDM lists ---- */

struct invpcid_args {
	u64 type, pcid, va;
};

static void do_invpcid(void *p)
{
	const struct invpcid_args *a = p;

	rv_invpcid(a->type, a->pcid, a->va);
}

static void do_set_pcide(void *p)
{
	(void)p;
	rv_write_cr4(rv_read_cr4() | RV_CR4_PCIDE);
}

static void expect_gp(unsigned code, const char *what, void (*fn)(void *), void *arg)
{
	struct rv_trap_info info;
	int vector = rv_try(fn, arg, &info);

	if (vector != RV_VEC_GP || info.error != 0)
		rv_fail(code, "pcid: %s: got %s (vector %d, error %#lx), want #GP(0)", what,
			vector < 0 ? "no exception" : rv_vector_name(vector), vector, info.error);
}

static void faults(struct pcid_test *t)
{
	struct invpcid_args type4 = { 4, 0, 0 };
	struct invpcid_args noncanon = { RV_INVPCID_ADDRESS, 1, 0x0000800000000000ull };
	struct invpcid_args bigpcid = { RV_INVPCID_CONTEXT, 0x1000, 0 };
	struct invpcid_args pcid1 = { RV_INVPCID_CONTEXT, 1, 0 };

	expect_gp(90, "INVPCID type 4", do_invpcid, &type4);
	expect_gp(91, "INVPCID type 0, non-canonical address", do_invpcid, &noncanon);
	expect_gp(92, "INVPCID type 1, PCID field above 0xfff", do_invpcid, &bigpcid);

	set_cr4(t, true, false);
	expect_gp(93, "INVPCID type 1, PCID 1 with PCIDE=0", do_invpcid, &pcid1);
	rv_write_cr3(t->root[0] | RV_PTE_PWT);
	expect_gp(94, "setting CR4.PCIDE with CR3[11:0] nonzero", do_set_pcide, NULL);
	check_cr(95, "CR4.PCIDE after the refused write", rv_read_cr4() & RV_CR4_PCIDE, 0);
	load_cr3(t, 0, false);
}

int rv_main(unsigned cpu, unsigned ncpus)
{
	struct pcid_test t = { 0 };

	rv_require_feature(RV_FEAT_PCID);
	rv_require_feature(RV_FEAT_INVPCID);
	setup(&t, cpu);
	without_pcid(&t);
	switching(&t);
	invpcid_types(&t);
	globals(&t);
	pcide_off(&t);
	faults(&t);
	rv_fetch_add(&total_checks, t.checks);
	rv_fetch_add(&total_strict, t.strict);
	rv_barrier_wait(&sync_point);
	if (cpu == 0)
		rv_printf("pcid: %u vCPUs, %u reads checked (%u strict), #GP cases too: all as "
			  "the architecture allows\n",
			  ncpus, rv_load_acquire(&total_checks), rv_load_acquire(&total_strict));
	return 0;
}
