// SPDX-License-Identifier: MIT
/*
 * The built-in campaigns (docs/campaign.md). `mutation`: every breaking
 * fault point with a guest and configuration that shows it, over a few
 * seeds. `benign`: random mixes of the benign points over the workload
 * guests, vendors, paging modes, executors and vCPU counts.
 */
#include <string.h>

#include "campaign.h"
#include "reqvisor/fault.h"

#define MUTATION_SEEDS 3 /* the bound: each point is caught within its runs */

static const struct {
	const char *guest, *args, *fault;
} mutations[] = {
	/* The lost-request race: a host flush posted while the target is
	 * between its service and its entry (a step apart in the
	 * deterministic executor). Short slices make many entries, and host
	 * page moves many flushes; the target then uses a freed frame. */
	{ "shootdown", "--vcpus 2 --pcpus 2 --slice 4 --rounds 128",
	  "entry.no_recheck=1,hostmem.migrate=0.5" },
	{ "shootdown", "--vcpus 4", "tlb.skip_invlpg" },
	{ "shootdown", "--vendor vmx --vcpus 8",
	  "vmx.skip_migration_flush=1,vcpu.migrate=1,vcpu.preempt=0.01" },
	{ "shootdown", "--vendor vmx --vpids 1 --vcpus 8", "vmx.skip_vpid0_flush=1" },
	{ "shootdown", "--vendor vmx --vcpus 8 --topology 2x1",
	  "vmx.invept_keep_combined=1,hostmem.migrate=0.01" },
	{ "pcid", "--vendor svm --asids 3 --vcpus 8", "svm.skip_generation_flush=1" },
	{ "shootdown", "--vendor vmx --tdp off --vcpus 8", "shadow.skip_sync=1" },
	{ "shootdown", "--vendor vmx --vcpus 8 --topology 2x1",
	  "flush.remote_no_wait=1,hostmem.migrate=0.01" },
	{ "hv_tlbflush", "--hyperv --vcpus 4", "hv.skip_fifo_drain=1" },
	{ "hv_tlbflush", "--hyperv --vendor svm --vcpus 4", "hv.flush_no_wait=1" },
	/* The guest's own invalidations, in hardware (TDP) and as the shadow
	 * paging requests they become. */
	{ "pcid", "--vendor vmx --tdp on --vcpus 2", "tlb.skip_invpcid=1" },
	{ "pcid", "--vendor svm --tdp off --vcpus 2", "tlb.skip_invpcid=1" },
	{ "pcid", "--vendor svm --tdp on --vcpus 2", "tlb.skip_cr3_flush=1" },
	{ "pcid", "--vendor vmx --tdp off --vcpus 2", "tlb.skip_cr3_flush=1" },
	{ "pcid", "--vendor vmx --tdp on --vcpus 2", "tlb.skip_cr4_flush=1" },
	{ "pcid", "--vendor svm --tdp off --vcpus 2", "tlb.skip_cr4_flush=1" },
	/* C3: spurious TLB_FLUSHes meet the TLB_FLUSH_GUESTs INVPCID posts
	 * under shadow paging; swallowing one skips the guest flush's sync. */
	{ "pcid", "--vendor svm --tdp off --vcpus 2",
	  "flush.all_covers_guest=1,request.spurious=0.5" },
	/* C7's limit: the case the benign campaign found. */
	{ "hv_shootdown", "--hyperv --vendor svm --tdp off --vcpus 4 --topology 2x1",
	  "svm.purge_on_shadow=1,hostmem.migrate=0.05" },
	/* The two orders that close windows against a concurrent caller
	 * (requests.md C5, hyperv.md): the second half of each is held for
	 * the vCPU's next step, so other pCPUs' steps land in between. The
	 * purge's window matters with shadow paging only, where the flush is
	 * a sync that a PTE write right after it leaves stale; spurious
	 * TLB_FLUSH_GUESTs make many such flushes. */
	{ "hv_tlbflush", "--hyperv --tdp off --vcpus 8 --pcpus 8",
	  "hv.purge_after_flush=1,request.spurious=1" },
	{ "hv_tlbflush", "--hyperv --vcpus 4", "hv.post_before_push=1" },
	/* C8 and C9's limits: a merge that loses pages, a pass that outlives
	 * its entry (after a Space call's INVVPID, list drains skip theirs). */
	{ "hv_tlbflush", "--hyperv --vcpus 8", "hv.merge_keeps_first_end=1" },
	{ "hv_tlbflush", "--hyperv --vendor vmx --vcpus 4", "coalesce.pass_outlives_entry=1" },
	{ "nvmx", "--nested --vcpus 2", "nvmx.skip_flush_no_vpid=1" },
	{ "nvmx", "--nested --vcpus 2", "nvmx.skip_flush_new_vpid12=1" },
	{ "nvmx", "--nested --tdp off --vpids 3 --vcpus 2", "nvmx.skip_flush_no_tag=1" },
	{ "nvmx", "--nested --tdp off --vcpus 2", "nvmx.skip_flush_new_eptp=1" },
	{ "nvmx", "--nested --vcpus 2", "nvmx.skip_invvpid=1" },
	{ "nvmx", "--nested --vcpus 2", "nvmx.skip_invept=1" },
	{ "nsvm", "--vendor svm --nested --vcpus 2", "nsvm.skip_flush=1" },
	{ "nsvm", "--vendor svm --nested --nsvm-flush conditional --vcpus 2",
	  "nsvm.cond_skip_new_asid=1" },
	{ "nsvm", "--vendor svm --nested --nsvm-flush conditional --vcpus 2",
	  "nsvm.cond_ignore_tlb_control=1" },
	{ "nsvm", "--vendor svm --nested --nsvm-flush conditional --vcpus 2",
	  "nsvm.skip_invlpga=1" },
	/* Host page moves while L2 runs: L1's ASID must go too. */
	{ "nsvm", "--vendor svm --nested --nsvm-flush conditional --vcpus 2 --topology 2x1",
	  "nsvm.cond_keep_other_asid=1,hostmem.migrate=0.05" },
};

void campaign_builtin_mutation(struct campaign_runs *rs)
{
	for (size_t i = 0; i < sizeof(mutations) / sizeof(mutations[0]); i++) {
		for (uint64_t seed = 1; seed <= MUTATION_SEEDS; seed++) {
			struct campaign_run *r = campaign_add(rs);

			snprintf(r->guest, sizeof(r->guest), "%s", mutations[i].guest);
			snprintf(r->args, sizeof(r->args), "%s%s", mutations[i].args,
				 strstr(mutations[i].args, "--executor")
					 ? ""
					 : " --executor deterministic");
			snprintf(r->fault, sizeof(r->fault), "%s", mutations[i].fault);
			r->seed = seed;
		}
	}
}

/* ---- benign ---- */

static uint64_t next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static unsigned pick(uint64_t *s, unsigned n)
{
	return (unsigned)(next(s) % n);
}

enum need { ANY, VMX_ONLY, SVM_ONLY, HYPERV };

static const struct {
	const char *guest, *args;
	enum need need;
} workloads[] = {
	/* Short rounds: the campaign's strength is the number of schedules. */
	{ "shootdown", "--rounds 8", ANY },
	{ "pcid", "", ANY },
	{ "hv_shootdown", "--hyperv --rounds 8", HYPERV },
	{ "hv_tlbflush", "--hyperv", HYPERV },
	{ "nvmx_shootdown", "--nested --rounds 4", VMX_ONLY },
	{ "nsvm_shootdown", "--nested --rounds 4", SVM_ONLY },
	{ "nsvm_shootdown", "--nested --nsvm-flush conditional --rounds 4", SVM_ONLY },
};

static const struct {
	const char *name;
	enum need need;
} benign[] = {
	{ "kick.drop", ANY },	     { "kick.delay", ANY },	   { "request.spurious", ANY },
	{ "vcpu.preempt", ANY },     { "vcpu.migrate", ANY },	   { "hostmem.migrate", ANY },
	{ "hostmem.zap", ANY },	     { "vpid.exhaust", VMX_ONLY }, { "asid.exhaust", SVM_ONLY },
	{ "fifo.overflow", HYPERV }, { "alloc.fail", ANY },
};

static const char *const rates[] = { "0.001", "0.01", "0.05" };

static bool fits(enum need need, bool svm, bool hyperv)
{
	return need == ANY || (need == VMX_ONLY && !svm) || (need == SVM_ONLY && svm) ||
	       (need == HYPERV && hyperv);
}

static void benign_run(struct campaign_run *r, uint64_t *s)
{
	unsigned w = pick(s, sizeof(workloads) / sizeof(workloads[0]));
	bool svm = workloads[w].need == SVM_ONLY || (workloads[w].need != VMX_ONLY && pick(s, 2));
	bool hyperv = workloads[w].need == HYPERV, topology = false;
	unsigned nfaults = 1 + pick(s, 3), used = 0;
	size_t len = 0;

	snprintf(r->guest, sizeof(r->guest), "%s", workloads[w].guest);
	r->fault[0] = 0;
	while (used < nfaults) {
		unsigned f = pick(s, sizeof(benign) / sizeof(benign[0]));

		if (!fits(benign[f].need, svm, hyperv) || strstr(r->fault, benign[f].name))
			continue;
		len += (size_t)snprintf(r->fault + len, sizeof(r->fault) - len, "%s%s=%s",
					len ? "," : "", benign[f].name, rates[pick(s, 3)]);
		topology |= !strncmp(benign[f].name, "hostmem.", 8);
		used++;
	}
	snprintf(r->args, sizeof(r->args), "--vendor %s --tdp %s --executor %s --vcpus %u%s%s %s",
		 svm ? "svm" : "vmx", pick(s, 2) ? "on" : "off",
		 pick(s, 4) ? "deterministic" : "threads", 2 + pick(s, 7),
		 topology ? " --topology 2x1" : "", pick(s, 4) ? "" : " --coalesce kvm",
		 workloads[w].args);
	r->seed = 1 + pick(s, 1000000);
}

void campaign_builtin_benign(struct campaign_runs *rs, uint32_t runs, uint64_t seed)
{
	uint64_t s = 0x9e3779b97f4a7c15ull ^ seed;

	for (uint32_t i = 0; i < runs; i++)
		benign_run(campaign_add(rs), &s);
}
