/* SPDX-License-Identifier: MIT */
/* What several suites share: building a synthetic VM and running a suite. */
#ifndef RV_TESTS_HELPERS_H
#define RV_TESTS_HELPERS_H

#include <check.h>
#include <stdlib.h>

#include "reqvisor/synthetic.h"
#include "reqvisor/vm.h"

struct test_vm {
	struct rv_vm *vm;
	struct rv_synthetic *syn;
};

static inline struct rv_vm_config test_config(uint32_t vcpus, uint32_t pcpus, enum rv_executor exec,
					      uint64_t seed)
{
	struct rv_vm_config cfg = {
		.nr_vcpus = vcpus,
		.nr_pcpus = pcpus,
		.executor = exec,
		.seed = seed,
		.trace = true,
		.backend = &rv_synthetic_backend,
	};
	return cfg;
}

/* A VM running the synthetic guest @script, @rounds times. */
static inline struct test_vm test_vm_create(struct rv_vm_config cfg, const char *script,
					    uint32_t rounds)
{
	struct test_vm t = { 0 };
	char err[256] = "";

	t.syn = rv_synthetic_create(script, rounds, cfg.seed, err, sizeof(err));
	ck_assert_msg(t.syn, "script: %s", err);
	cfg.backend_ctx = t.syn;
	ck_assert_msg(rv_vm_create(&cfg, &t.vm, err, sizeof(err)) == 0, "vm: %s", err);
	return t;
}

static inline void test_vm_destroy(struct test_vm *t)
{
	rv_vm_destroy(t->vm);
	rv_synthetic_destroy(t->syn);
}

/* An environment knob for stress sizes, so sanitizer runs can shrink them. */
static inline unsigned long test_scale(const char *name, unsigned long dflt)
{
	const char *s = getenv(name);

	return s && *s ? strtoul(s, NULL, 10) : dflt;
}

static inline int run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);

	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);

	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
