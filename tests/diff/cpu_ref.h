/* SPDX-License-Identifier: MIT */
/* Running a snippet on reqvisor's software CPU. */
#ifndef RV_DIFF_CPU_REF_H
#define RV_DIFF_CPU_REF_H

#include <stdbool.h>

#include "snippet.h"

struct cpu_ref;

/* @amd: model AMD's behaviour where Intel's and AMD's differ. */
struct cpu_ref *cpu_ref_open(bool amd);
void cpu_ref_run(struct cpu_ref *r, const struct snippet *s, struct snippet_result *res);
void cpu_ref_close(struct cpu_ref *r);

#endif
