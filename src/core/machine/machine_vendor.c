// SPDX-License-Identifier: MIT
/*
 * What both vendor backends share (docs/vendors.md): the second stage (EPT or
 * NPT tables, or shadow paging), the pCPU TLBs, and the MMU requests.
 */
#include <numa.h>
#include <stdlib.h>

#include "alloc.h"
#include "machine_impl.h"
#include "sched/pcpu.h"
#include "vm_impl.h"

int rv_machine_vendor_init(struct rv_machine *m, char *err, size_t errlen)
{
	uint32_t frames = rv_guest_mem_nr_frames(m->mem);

	m->svm = m->cfg.vendor_amd;
	m->tdp = !m->cfg.shadow;
	m->vendor = m->svm ? rv_machine_svm_ops : rv_machine_vmx_ops;
	pthread_mutex_init(&m->mmu_lock, NULL);
	m->freed = rv_calloc((frames + 63) / 64, sizeof(*m->freed));
	m->frame_gfn = rv_calloc(frames, sizeof(*m->frame_gfn));
	m->table_pages =
		rv_calloc((rv_guest_mem_size(m->mem) >> 12) / 64 + 1, sizeof(*m->table_pages));
	if (!m->freed || !m->frame_gfn || !m->table_pages)
		goto oom;
	for (uint32_t f = 0; f < frames; f++)
		atomic_init(&m->frame_gfn[f], UINT32_MAX);
	for (uint64_t gfn = 0; gfn < rv_guest_mem_size(m->mem) >> 12; gfn++)
		atomic_store(&m->frame_gfn[rv_gpa_frame(m->mem, gfn << 12)], (uint32_t)gfn);
	if (m->tdp) {
		m->tdp_tables =
			rv_tdp_create(m->svm ? RV_TDP_NPT : RV_TDP_EPT, m->mem, err, errlen);
		if (!m->tdp_tables)
			return -1;
	} else if (rv_shadow_track_init(&m->track, rv_guest_mem_size(m->mem))) {
		goto oom;
	}
	if (!m->svm) {
		m->vpids = rv_malloc(sizeof(*m->vpids));
		if (!m->vpids)
			goto oom;
		rv_vpid_allocator_init(m->vpids, m->cfg.vpids ? m->cfg.vpids : RV_VPID_COUNT);
	}
	return 0;
oom:
	snprintf(err, errlen, "out of memory for the vendor backend");
	return -1;
}

void rv_machine_vendor_destroy(struct rv_machine *m)
{
	rv_tdp_destroy(m->tdp_tables);
	rv_shadow_track_destroy(&m->track);
	if (m->vpids)
		rv_vpid_allocator_destroy(m->vpids);
	free(m->vpids);
	free(m->asid);
	free(m->freed);
	free(m->frame_gfn);
	free(m->table_pages);
	pthread_mutex_destroy(&m->mmu_lock);
}

const struct rv_vendor_ops *rv_machine_vendor(const struct rv_machine *m)
{
	return &m->vendor;
}

int rv_machine_vendor_vcpu_init(struct machine_vcpu *mv)
{
	struct rv_machine *m = mv->m;
	struct rv_vm *vm = mv->vcpu->vm;

	if (!m->tdp) {
		rv_shadow_init(&mv->shadow, &m->track, m->cfg.shadow_pages);
		mv->cpu.no_write_cache = true;
	}
	rv_asid_vcpu_init(&mv->asid);
	if (m->svm) {
		pthread_mutex_lock(&m->mmu_lock);
		if (!m->asid) {
			uint32_t n = rv_vm_nr_pcpus(vm);

			m->asid = rv_calloc(n, sizeof(*m->asid));
			for (uint32_t i = 0; m->asid && i < n; i++)
				rv_asid_pcpu_init(&m->asid[i], m->cfg.asids ? m->cfg.asids : 32768);
		}
		pthread_mutex_unlock(&m->mmu_lock);
		return m->asid ? 0 : -1;
	}
	mv->vpid = RV_FAULT_HIT(&vm->faults, VPID_EXHAUST) ? 0 : rv_vpid_alloc(m->vpids);
	mv->tag = mv->vpid;
	return 0;
}

void rv_machine_vendor_vcpu_free(struct machine_vcpu *mv)
{
	if (!mv->m->tdp)
		rv_shadow_destroy(&mv->shadow);
	if (mv->m->vpids)
		rv_vpid_free(mv->m->vpids, mv->vpid);
}

/*
 * A pCPU's TLB lives on its NUMA node. The machine owns it and outlives the
 * VM (and the VM's arenas), so it comes from libnuma, not from an arena.
 */
static void *tlb_alloc(void *ctx, size_t size)
{
	struct rv_pcpu *p = ctx;
	int nodes = numa_available() >= 0 ? numa_num_configured_nodes() : 0;

	if (rv_alloc_fails())
		return NULL;
	if (nodes <= 0)
		return rv_alloc_counted(calloc(1, size));
	return rv_alloc_counted(numa_alloc_onnode(size, rv_host_node_of((uint32_t)p->node)));
}

static void tlb_free(void *ctx, void *mem, size_t size)
{
	(void)ctx;
	if (numa_available() >= 0 && numa_num_configured_nodes() > 0)
		numa_free(mem, size);
	else
		free(mem);
}

void rv_machine_load_tlb(struct machine_vcpu *mv, struct rv_pcpu *p)
{
	struct rv_machine *m = mv->m;
	char err[128];
	struct rv_tlb_allocator node = { tlb_alloc, tlb_free, p };

	if (!m->tlb[p->index])
		m->tlb[p->index] = rv_tlb_create(m->tlb_sets, m->tlb_ways, &node, err, sizeof(err));
	mv->tlb = m->tlb[p->index];
	/* The pCPU's decoded instructions, shared by the vCPUs it runs: one
	 * cache per pCPU instead of 160 KiB per vCPU (docs/performance.md). */
	if (!m->icache[p->index])
		m->icache[p->index] = rv_icache_create();
	rv_cpu_use_icache(&mv->cpu, m->icache[p->index]);
	mv->last_pcpu = (int)p->index;
	mv->pass_flushed = 0;
}

/*
 * VMX tags combined and guest-physical entries with the EPT root. SVM has no
 * separate nested tag: everything is the ASID's, so its nested entries carry
 * an ASID-derived root (above every table address, never a real one).
 */
uint64_t rv_machine_tag_root(const struct machine_vcpu *mv)
{
	if (!mv->m->tdp)
		return 0;
	if (mv->nested.guest_mode && !mv->m->svm)
		return mv->nested.tdp12 ? rv_nested_ept_root(mv->nested.root12)
					: RV_NESTED_PLAIN_ROOT;
	if (mv->m->svm)
		return RV_TDP_TABLE_HPA * 2 + ((uint64_t)mv->tag << 12);
	return rv_tdp_root(mv->m->tdp_tables);
}

void rv_machine_flush_tag(struct machine_vcpu *mv)
{
	if (!mv->tlb)
		return;
	rv_tlb_flush_tag(mv->tlb, mv->tag, RV_TLB_ANY_PCID);
	if (mv->m->svm && mv->m->tdp)
		rv_tlb_flush_eptrta(mv->tlb, rv_machine_tag_root(mv));
}
