// SPDX-License-Identifier: MIT
/* The one way the reqvisor command reports bad usage or input. */
#include <stdarg.h>
#include <stdio.h>

#include "cli.h"

int cli_bad(const char *who, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "%s: ", who);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	return EXIT_USAGE;
}
