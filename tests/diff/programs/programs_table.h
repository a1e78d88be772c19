/* SPDX-License-Identifier: MIT */
/* The table gen_programs.py writes from the linked programs; only programs.c reads it. */
#ifndef RV_DIFF_PROGRAMS_TABLE_H
#define RV_DIFF_PROGRAMS_TABLE_H

#include <stddef.h>
#include <stdint.h>

struct program_image {
	const char *name;
	const uint8_t *code;
	uint32_t code_len;
	const uint8_t *data; /* the start of the data page; the rest is zero */
	uint32_t data_len;
};

extern const struct program_image programs_images[];
extern const size_t programs_nr;

#endif
