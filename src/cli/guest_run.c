// SPDX-License-Identifier: MIT
/* `reqvisor run GUEST.elf`: the image, the machine, and the verdict. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "cli.h"
#include "machine/machine.h"
#include "numa_report.h"

#define MAX_IMAGE (256u << 20)

static int read_image(const char *path, uint8_t **out, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	long size;

	if (!f) {
		snprintf(err, errlen, "cannot open guest image '%s': %s", path, strerror(errno));
		return -1;
	}
	if (fseek(f, 0, SEEK_END) || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		snprintf(err, errlen, "cannot read guest image '%s'", path);
		fclose(f);
		return -1;
	}
	if ((unsigned long)size > MAX_IMAGE) {
		snprintf(err, errlen, "guest image '%s' is larger than 256 MiB", path);
		fclose(f);
		return -1;
	}
	*out = malloc(size ? (size_t)size : 1);
	*len = (size_t)size;
	if (!*out || fread(*out, 1, *len, f) != *len) {
		snprintf(err, errlen, "cannot read guest image '%s'", path);
		free(*out);
		*out = NULL;
		fclose(f);
		return -1;
	}
	fclose(f);
	return 0;
}

/*
 * The placement report goes into the stats as the "numa" member of the
 * "backend" object: the machine's backend ops with their VM-wide statistics
 * extended. Those get only the machine, so the VM comes from guest_verdict(),
 * which main.c calls before it writes the stats (one VM per process).
 */
static struct rv_backend_ops placement_backend;
static struct rv_vm *report_vm;

/* Guest memory is asked in full up to this many pages per node (1 GiB),
 * beyond that every n-th page. */
#define REPORT_MAX_PAGES (1u << 18)

static void placement_vm_stats_json(void *ctx, FILE *out)
{
	struct rv_numa_report *r;

	rv_machine_backend.vm_stats_json(ctx, out);
	if (!report_vm || rv_vm_backend_ctx(report_vm) != ctx)
		return;
	r = malloc(sizeof(*r));
	if (!r)
		return;
	rv_numa_report(report_vm, rv_numa_machine_mem(ctx), REPORT_MAX_PAGES, r);
	fprintf(out, ", ");
	rv_numa_report_json(report_vm, r, out);
	free(r);
}

/* The VM's nodes: the declared ones, or the host's (as rv_vm_create counts
 * them), so that guest RAM is split over the same nodes as the pCPUs. */
static uint32_t vm_nodes(const struct rv_vm_config *cfg)
{
	uint32_t n = cfg->nr_nodes ? cfg->nr_nodes : rv_host_nr_nodes();

	return n < cfg->nr_pcpus ? n : cfg->nr_pcpus;
}

int guest_prepare(struct run_opts *o, struct guest_run *g, char *err, size_t errlen)
{
	struct rv_machine_config mc = {
		.mem_size = o->mem_size,
		.nr_vcpus = o->cfg.nr_vcpus,
		.nr_nodes = vm_nodes(&o->cfg),
		.vendor_amd = o->vendor_amd,
		.shadow = o->shadow,
		.vpids = o->vpids,
		.asids = o->asids,
		.svm_new_asid = o->svm_new_asid,
		.numa_migrate = o->numa_migrate,
		.hyperv = o->hyperv,
		.nested = o->nested,
		.nsvm_conditional = o->nsvm_conditional,
		.console_prefix = o->console_prefix,
		.oracle = (enum rv_oracle_mode)o->oracle,
		.tlb_sets = o->tlb_sets,
		.tlb_ways = o->tlb_ways,
		.set_rounds = o->rounds_set,
		.set_pages = o->pages_set,
		.set_seed = o->seed_set,
		.config = { RV_GUEST_CONFIG_MAGIC,
			    RV_GUEST_CONFIG_VERSION,
			    o->rounds,
			    o->pages,
			    o->cfg.seed,
			    { 0 } },
	};
	char why[200];

	memset(g, 0, sizeof(*g));
	if (!o->guest_path) {
		mc.image = rv_default_guest;
		mc.image_len = rv_default_guest_len;
		o->guest_path = "the built-in shootdown guest";
	} else if (read_image(o->guest_path, &g->image, &mc.image_len, err, errlen)) {
		return -1;
	} else {
		mc.image = g->image;
	}
	g->machine = rv_machine_create(&mc, why, sizeof(why));
	if (!g->machine) {
		snprintf(err, errlen, "%s: %s", o->guest_path, why);
		free(g->image);
		return -1;
	}
	placement_backend = rv_machine_backend;
	placement_backend.vm_stats_json = placement_vm_stats_json;
	o->cfg.backend = &placement_backend;
	o->cfg.backend_ctx = g->machine;
	o->cfg.vendor = rv_machine_vendor(g->machine);
	o->cfg.shadow_paging = o->shadow;
	return 0;
}

void guest_release(struct guest_run *g)
{
	/* The VM is gone by now (or was never made): forget it, without
	 * reading it. */
	report_vm = NULL;
	rv_machine_destroy(g->machine);
	free(g->image);
}

int guest_verdict(void *ctx, struct rv_vm *vm, int result)
{
	struct guest_run *g = ctx;
	const char *failure = rv_machine_failure(g->machine);
	const char *violation;
	uint64_t violations = rv_machine_violations(g->machine, &violation);
	uint32_t status;
	bool exited;

	report_vm = vm; /* for the stats, written next */
	rv_machine_flush_console(vm);
	exited = rv_machine_exited(g->machine, &status);
	fflush(stdout);
	if (violations) {
		fprintf(stderr, "reqvisor: %s (%" PRIu64 " violations in all)\n", violation,
			violations);
		return EXIT_ORACLE;
	}
	if (failure) {
		fprintf(stderr, "reqvisor: %s\n", failure);
		return EXIT_GUEST_FAILED;
	}
	if (result == -1) {
		fprintf(stderr, "reqvisor: the guest hung: every vCPU is halted and no "
				"interrupt can come\n");
		return EXIT_GUEST_FAILED;
	}
	if (!exited) {
		fprintf(stderr, "reqvisor: the guest stopped without writing its exit status\n");
		return EXIT_GUEST_FAILED;
	}
	if (status) {
		fprintf(stderr, "reqvisor: the guest failed with exit status %u\n", status);
		return EXIT_GUEST_FAILED;
	}
	return 0;
}

void guest_summary(struct guest_run *g, struct rv_vm *vm)
{
	struct rv_machine_totals t;
	uint64_t lookups;

	rv_machine_totals(g->machine, vm, &t);
	lookups = t.tlb_hits + t.tlb_misses;
	printf("  TLBs: %" PRIu64 " hits, %" PRIu64 " misses (%.1f%% hits), %" PRIu64
	       " inserts, %" PRIu64 " entries flushed\n",
	       t.tlb_hits, t.tlb_misses,
	       lookups ? 100.0 * (double)t.tlb_hits / (double)lookups : 0.0, t.tlb_inserts,
	       t.tlb_flushed);
	printf("  oracle: %" PRIu64 " hits checked, %" PRIu64 " stale but legal, %" PRIu64
	       " violations\n",
	       t.oracle_checks, t.oracle_stale - (t.violations < t.oracle_stale ? t.violations : 0),
	       t.violations);
	if (t.pages_moved || t.pages_zapped)
		printf("  host: %" PRIu64 " guest pages moved (unmap, remote flush, copy), %" PRIu64
		       " zapped (unmap, remote flush)\n",
		       t.pages_moved, t.pages_zapped);
	if (t.unknown_ports)
		printf("  %u I/O ports used that no device answers (see --stats)\n",
		       t.unknown_ports);
	if (rv_vm_config(vm)->nr_nodes || rv_host_nr_nodes() > 1) {
		struct rv_numa_report *r = malloc(sizeof(*r));

		if (r) {
			rv_numa_report(vm, rv_numa_machine_mem(g->machine), REPORT_MAX_PAGES, r);
			rv_numa_report_print(vm, r, stdout);
			free(r);
		}
	}
}
