// SPDX-License-Identifier: MIT
/*
 * `reqvisor-bench cpu` output: a table per workload, a summary, and the same
 * figures as JSON. The target and the verdict live here, in one place, so the
 * tables and the JSON cannot disagree.
 */
#include <string.h>

#include "bench_cpu.h"

/* Workload (a) on the software CPU, one host core: the target. */
#define IPS_TARGET 150e6

/* Other CPUs busier than this may have disturbed the figures. */
#define OTHERS_QUIET 0.05

/* KVM below this share of native is emulating, not running, the guest. */
#define KVM_EMULATED 0.1

static const char *const engine_name[NR_ENGINES] = { "software CPU", "native (host CPU)", "KVM" };
static const char *const engine_key[NR_ENGINES] = { "software", "native", "kvm" };

static const char *pass(bool ok)
{
	return ok ? "PASS" : "MISS";
}

static const char *jbool(bool b)
{
	return b ? "true" : "false";
}

/* @v with thousands separators, without depending on the locale. */
static const char *grouped(uint64_t v, char *buf, size_t len)
{
	char digits[24];
	int n = snprintf(digits, sizeof(digits), "%llu", (unsigned long long)v);
	size_t o = 0;

	for (int i = 0; i < n && o + 2 < len; i++) {
		if (i && (n - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = digits[i];
	}
	buf[o] = '\0';
	return buf;
}

static bool side_ok(const struct bench_cpu_side *s)
{
	return !s->available || s->match;
}

static bool row_agrees(const struct bench_cpu_row *row)
{
	for (int i = 0; i < NR_ENGINES; i++)
		if (!side_ok(&row->side[i]))
			return false;
	return true;
}

static double ratio(const struct bench_cpu_row *row, enum bench_cpu_engine e)
{
	const struct bench_cpu_side *n = &row->side[ENGINE_NATIVE];

	if (!row->side[e].available || !n->available || n->ips <= 0)
		return 0;
	return row->side[e].ips / n->ips;
}

static bool meets_target(const struct bench_cpu_row *row)
{
	return row->side[ENGINE_SOFT].ips >= IPS_TARGET;
}

static double hit_rate(const struct bench_cpu_row *row)
{
	uint64_t all = row->icache_hits + row->icache_misses;

	return all ? (double)row->icache_hits / (double)all : 0;
}

/* ---- tables ------------------------------------------------------------- */

static void side_result(FILE *out, const struct bench_cpu_row *row, enum bench_cpu_engine e)
{
	const struct bench_cpu_side *s = &row->side[e];

	if (e == ENGINE_SOFT)
		fprintf(out, "%s\n", s->match ? "reference" : "*** RUNS DIFFER ***");
	else
		fprintf(out, "%s\n", s->match ? "same" : "*** MISMATCH ***");
}

/* Millions, with more digits where there are few. */
static const char *mega(double v, char *buf, size_t len)
{
	snprintf(buf, len, v < 10e6 ? "%.2f" : "%.1f", v / 1e6);
	return buf;
}

/* The slowest and the fastest run's instructions per second. */
static const char *range(const struct bench_cpu_side *s, char *buf, size_t len)
{
	char lo[24], hi[24];
	double n = (double)s->instructions * 1e9;

	if (s->ns.max <= 0 || s->ns.min <= 0)
		return "n/a";
	snprintf(buf, len, "%s-%s", mega(n / s->ns.max, lo, sizeof(lo)),
		 mega(n / s->ns.min, hi, sizeof(hi)));
	return buf;
}

static void side_row(FILE *out, const struct bench_cpu_row *row, enum bench_cpu_engine e)
{
	const struct bench_cpu_side *s = &row->side[e];
	char it[32], ins[32], vs[32], m[24], rg[56];
	double r = ratio(row, e);

	if (!s->available) {
		fprintf(out, "   %s: n/a (%s)\n", e == ENGINE_KVM ? "kvm" : engine_key[e],
			s->reason);
		return;
	}
	if (e == ENGINE_NATIVE)
		snprintf(vs, sizeof(vs), "1");
	else if (r > 0)
		snprintf(vs, sizeof(vs), "1/%.1f", 1 / r);
	else
		snprintf(vs, sizeof(vs), "n/a");
	fprintf(out, "   %-17s %12s %13s %4u %9.4f %9s %17s %9s  ", engine_name[e],
		grouped(s->iterations, it, sizeof(it)), grouped(s->instructions, ins, sizeof(ins)),
		s->runs, s->ns.median / 1e9, mega(s->ips, m, sizeof(m)), range(s, rg, sizeof(rg)),
		vs);
	side_result(out, row, e);
}

static void mismatches(FILE *out, const struct bench_cpu_row *row)
{
	for (int e = 0; e < NR_ENGINES; e++) {
		const struct bench_cpu_side *s = &row->side[e];

		if (side_ok(s))
			continue;
		fprintf(out,
			"   *** %s: results differ, the instruction count does not apply: %s ***\n",
			engine_name[e], s->mismatch);
	}
}

static void table_row(FILE *out, const struct bench_cpu_row *row)
{
	char hits[32], misses[32];

	fprintf(out, "%s: %s\n", row->w->name, row->w->what);
	fprintf(out, "   %-17s %12s %13s %4s %9s %9s %17s %9s  %s\n", "CPU", "iterations",
		"instructions", "runs", "median s", "M instr/s", "slowest-fastest", "vs native",
		"result");
	for (int e = 0; e < NR_ENGINES; e++)
		side_row(out, row, e);
	mismatches(out, row);
	fprintf(out, "   software CPU decode cache: %.5f%% hits (%s hits, %s misses)\n\n",
		100 * hit_rate(row), grouped(row->icache_hits, hits, sizeof(hits)),
		grouped(row->icache_misses, misses, sizeof(misses)));
}

/* The fastest run's instructions per second. */
static double fastest(const struct bench_cpu_side *s)
{
	return s->ns.min > 0 ? (double)s->instructions * 1e9 / s->ns.min : 0;
}

static void summary_row(FILE *out, const struct bench_cpu_row *row)
{
	const struct bench_cpu_side *soft = &row->side[ENGINE_SOFT];
	const struct bench_cpu_side *native = &row->side[ENGINE_NATIVE];
	const struct bench_cpu_side *kvm = &row->side[ENGINE_KVM];
	double r = ratio(row, ENGINE_SOFT);
	char rs[32] = "n/a", ns[32] = "n/a", ks[32] = "n/a";

	if (r > 0)
		snprintf(rs, sizeof(rs), "%.4f = 1/%.1f", r, 1 / r);
	if (native->available)
		snprintf(ns, sizeof(ns), "%.1f", native->ips / 1e6);
	if (kvm->available)
		snprintf(ks, sizeof(ks), "%.2f", kvm->ips / 1e6);
	fprintf(out, "   %-17s %9.1f %8.1f %9s %18s %7s  ", row->w->name, soft->ips / 1e6,
		fastest(soft) / 1e6, ns, rs, ks);
	if (row->w->has_target)
		fprintf(out, ">= %.0f M/s: %s", IPS_TARGET / 1e6, pass(meets_target(row)));
	else
		fprintf(out, "none");
	fprintf(out, "%s\n", row_agrees(row) ? "" : "  *** results differ ***");
}

/* A runner's cost in us, or n/a where it did not run. */
static const char *overhead(const struct bench_cpu_result *r, enum bench_cpu_engine e, char *buf,
			    size_t len)
{
	if (r->overhead_ns[e] <= 0)
		return "n/a";
	snprintf(buf, len, "%.1f us", r->overhead_ns[e] / 1e3);
	return buf;
}

static void header(FILE *out, const struct bench_cpu_result *r)
{
	char native[24], kvm[24];

	fprintf(out, "reqvisor-bench cpu%s: TSC %.3f GHz; one thread, pinned to host CPU %d\n",
		r->quick ? " --quick" : "", bench_clock.ghz, r->host_cpu);
	fprintf(out,
		"Guest instructions/s of three workloads, each on three CPUs in the same run:\n"
		"  software CPU  reqvisor's, timed around rv_cpu_run(), decode cache warm\n"
		"  native        the same bytes on the host CPU in user mode: the limit\n"
		"  KVM           the same bytes in a real KVM guest at CPL 0, fewer iterations\n"
		"Instructions are the software CPU's count for the same code and iterations\n"
		"(its terminator not counted). The count applies to another CPU only if its\n"
		"registers, flags, RIP and data page are the same at the end (result).\n");
	fprintf(out,
		"Native and KVM times are less an empty snippet's run (native %s, KVM %s).\n\n",
		overhead(r, ENGINE_NATIVE, native, sizeof(native)),
		overhead(r, ENGINE_KVM, kvm, sizeof(kvm)));
}

static void others(FILE *out, const struct bench_cpu_result *r)
{
	if (r->others_busy < 0) {
		fprintf(out, "   Other host CPUs' load during the run: unknown (no /proc/stat).\n");
		return;
	}
	fprintf(out, "   Other host CPUs were busy %.0f%% of the run", 100 * r->others_busy);
	if (r->others_busy <= OTHERS_QUIET)
		fprintf(out, ".\n");
	else
		fprintf(out,
			": if one shares a core with CPU %d (SMT, or\n"
			"   vCPUs on one core), its load slows CPU %d: figures disturbed.\n",
			r->host_cpu, r->host_cpu);
}

static bool kvm_emulated(const struct bench_cpu_result *r)
{
	for (int i = 0; i < BENCH_CPU_WORKLOADS; i++) {
		double k = ratio(&r->row[i], ENGINE_KVM);

		if (k > 0 && k < KVM_EMULATED)
			return true;
	}
	return false;
}

static void footer(FILE *out, const struct bench_cpu_result *r, bool agree)
{
	others(out, r);
	if (kvm_emulated(r))
		fprintf(out,
			"   KVM under %.0f%% of native: it emulates the guest's CPL 0 code\n"
			"   (nested KVM does): an emulator's figure, not the hardware's.\n",
			100 * KVM_EMULATED);
	if (agree)
		fprintf(out, "   Results: every CPU computed the same on every workload.\n");
	else
		fprintf(out, "   *** Results: MISMATCH (see above): figures do not compare. ***\n");
}

bool bench_cpu_report(FILE *out, const struct bench_cpu_result *r)
{
	bool agree = true;

	header(out, r);
	for (int i = 0; i < BENCH_CPU_WORKLOADS; i++) {
		table_row(out, &r->row[i]);
		agree &= row_agrees(&r->row[i]);
	}
	fprintf(out, "Summary, M guest instructions/s (software: median and fastest run):\n");
	fprintf(out, "   %-17s %9s %8s %9s %18s %7s  %s\n", "workload", "software", "fastest",
		"native", "software/native", "KVM", "target (software CPU, median)");
	for (int i = 0; i < BENCH_CPU_WORKLOADS; i++)
		summary_row(out, &r->row[i]);
	footer(out, r, agree);
	return agree;
}

/* ---- JSON --------------------------------------------------------------- */

/* A message as a JSON string body: quotes, backslashes and controls dropped. */
static const char *json_text(const char *s, char *buf, size_t len)
{
	size_t o = 0;

	for (; *s && o + 1 < len; s++)
		if (*s != '"' && *s != '\\' && (unsigned char)*s >= 0x20)
			buf[o++] = *s;
	buf[o] = '\0';
	return buf;
}

static void json_side(FILE *out, const struct bench_cpu_row *row, enum bench_cpu_engine e,
		      bool last)
{
	const struct bench_cpu_side *s = &row->side[e];
	char buf[256];

	fprintf(out, "      \"%s\": {\"available\": %s", engine_key[e], jbool(s->available));
	if (!s->available) {
		fprintf(out, ", \"reason\": \"%s\"}%s\n", json_text(s->reason, buf, sizeof(buf)),
			last ? "" : ",");
		return;
	}
	fprintf(out,
		", \"iterations\": %llu, \"instructions\": %llu, \"runs\": %u, "
		"\"median_ns\": %.0f, \"min_ns\": %.0f, \"max_ns\": %.0f, "
		"\"instructions_per_s\": %.0f, \"match\": %s",
		(unsigned long long)s->iterations, (unsigned long long)s->instructions, s->runs,
		s->ns.median, s->ns.min, s->ns.max, s->ips, jbool(s->match));
	if (!s->match)
		fprintf(out, ", \"mismatch\": \"%s\"", json_text(s->mismatch, buf, sizeof(buf)));
	fprintf(out, "}%s\n", last ? "" : ",");
}

static void json_row(FILE *out, const struct bench_cpu_row *row, bool last)
{
	fprintf(out, "    {\n      \"workload\": \"%s\",\n", row->w->key);
	for (int e = 0; e < NR_ENGINES; e++)
		json_side(out, row, e, false);
	fprintf(out,
		"      \"decode_cache\": {\"hits\": %llu, \"misses\": %llu, \"hit_rate\": %.7f},\n",
		(unsigned long long)row->icache_hits, (unsigned long long)row->icache_misses,
		hit_rate(row));
	fprintf(out, "      \"software_vs_native\": %.6f, \"kvm_vs_native\": %.8f,\n",
		ratio(row, ENGINE_SOFT), ratio(row, ENGINE_KVM));
	if (row->w->has_target)
		fprintf(out, "      \"target_instructions_per_s\": %.0f, \"pass\": %s,\n",
			IPS_TARGET, jbool(meets_target(row)));
	else
		fprintf(out, "      \"target_instructions_per_s\": null, \"pass\": null,\n");
	fprintf(out, "      \"match\": %s\n    }%s\n", jbool(row_agrees(row)), last ? "" : ",");
}

bool bench_cpu_report_json(FILE *out, const struct bench_cpu_result *r)
{
	bool agree = true;

	fprintf(out, "{\n  \"benchmark\": \"cpu\",\n  \"quick\": %s,\n  \"host_cpu\": %d,\n",
		jbool(r->quick), r->host_cpu);
	if (r->others_busy < 0)
		fprintf(out, "  \"other_cpus_busy\": null,\n");
	else
		fprintf(out, "  \"other_cpus_busy\": %.4f,\n", r->others_busy);
	fprintf(out,
		"  \"clock\": {\"tsc_ghz\": %.4f},\n"
		"  \"runner_overhead_ns\": {\"native\": %.0f, \"kvm\": %.0f},\n"
		"  \"workloads\": [\n",
		bench_clock.ghz, r->overhead_ns[ENGINE_NATIVE], r->overhead_ns[ENGINE_KVM]);
	for (int i = 0; i < BENCH_CPU_WORKLOADS; i++) {
		json_row(out, &r->row[i], i + 1 == BENCH_CPU_WORKLOADS);
		agree &= row_agrees(&r->row[i]);
	}
	fprintf(out, "  ],\n  \"match\": %s\n}\n", jbool(agree));
	return agree;
}
