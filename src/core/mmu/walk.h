/* SPDX-License-Identifier: MIT */
/*
 * The x86-64 4-level page walk (Intel SDM vol. 3A ch. 4.5): 4 KiB, 2 MiB and
 * 1 GiB pages, R/W, U/S, NX, CR0.WP, SMEP, SMAP, reserved bits, and the
 * accessed and dirty bits written back with compare-and-swap as hardware
 * does. The walker knows nothing of guest memory beyond one callback that
 * gives the host address of a paging-structure entry.
 */
#ifndef RV_MMU_WALK_H
#define RV_MMU_WALK_H

#include <stdbool.h>
#include <stdint.h>

#define RV_PTE_P  (1ull << 0)
#define RV_PTE_W  (1ull << 1)
#define RV_PTE_U  (1ull << 2)
#define RV_PTE_A  (1ull << 5)
#define RV_PTE_D  (1ull << 6)
#define RV_PTE_PS (1ull << 7)
#define RV_PTE_G  (1ull << 8)
#define RV_PTE_NX (1ull << 63)

/* #PF error code bits. */
#define RV_PFEC_P    (1u << 0)
#define RV_PFEC_W    (1u << 1)
#define RV_PFEC_U    (1u << 2)
#define RV_PFEC_RSVD (1u << 3)
#define RV_PFEC_I    (1u << 4)
/* Not a #PF: an entry's page is being moved; exit and run again (cpu.h). */
#define RV_PFEC_RETRY (1u << 31)

/* What an entry callback returns for a page being moved. */
extern _Atomic uint64_t rv_walk_retry_entry;

enum rv_walk_access { RV_WALK_READ, RV_WALK_WRITE, RV_WALK_FETCH };

struct rv_walk_ctx {
	void *phys;
	/* The host address of the 8-byte entry at @gpa, or NULL outside RAM. */
	_Atomic uint64_t *(*entry)(void *phys, uint64_t gpa);
	uint64_t cr3;
	bool pcide; /* CR3 bits 11:0 are a PCID, not flags */
	bool wp, nxe, smep, smap;
	bool user; /* the access is made at CPL 3 */
	bool ac;   /* RFLAGS.AC, for SMAP */
	bool peek; /* the oracle's walk: set no accessed or dirty bit */
	unsigned maxphyaddr;
};

struct rv_walk {
	uint64_t gpa;	   /* the translation of the address */
	uint64_t page_gpa; /* the first byte of its page */
	uint64_t page_size;
	bool writable, user, executable, global, dirty;
	unsigned levels; /* entries used, PML4E first */
	uint64_t entry_gpa[4];
	uint64_t entry[4]; /* as read, before A/D were set */
};

/*
 * Translate @gva for @access. Returns 0, or -1 with the #PF error code in
 * *pfec. On success the accessed bits of every entry used, and the leaf's
 * dirty bit for a write, are set (never on a fault, as KVM's walker does).
 */
int rv_walk(const struct rv_walk_ctx *ctx, uint64_t gva, enum rv_walk_access access,
	    struct rv_walk *out, uint32_t *pfec);

#endif
