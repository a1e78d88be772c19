// SPDX-License-Identifier: MIT
/* The handler table, expanded from optable.def. */
#include "ops.h"

const rv_op_handler rv_op_table[NR_OPS] = {
#define RV_OP(index, handler, form) [index] = handler,
#include "optable.def"
#undef RV_OP
};
