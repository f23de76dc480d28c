/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Text scripts for iofd-vm: one guest op per line, numbers in C syntax
 * (0x.. hex), '#' starts a comment.
 *
 *   write      ADDR LEN VALUE [COUNT]      MMIO store
 *   read       ADDR LEN [EXPECT]           MMIO load (checked if EXPECT)
 *   out        PORT LEN VALUE [COUNT]      port output
 *   in         PORT LEN [EXPECT]           port input
 *   mem        GPA  LEN VALUE [COUNT]      plain RAM store
 *   hlt                                    HLT once
 *   write_wait ADDR LEN VALUE ANSWER [COUNT]
 *   out_wait   PORT LEN VALUE ANSWER [COUNT]
 *                                          store VALUE (VALUE+1, ...), each
 *                                          time spin until the u64 at guest
 *                                          address ANSWER equals it
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm.h"

struct op_syntax {
	const char *name;
	uint32_t kind;
	int required;		/* numbers after the name */
	int optional;
	bool checks;		/* the optional number is an expected value */
};

static const struct op_syntax syntax[] = {
	{ "write", GOP_WRITE, 3, 1, false },
	{ "read", GOP_READ, 2, 1, true },
	{ "out", GOP_OUT, 3, 1, false },
	{ "in", GOP_IN, 2, 1, true },
	{ "mem", GOP_WRITE_MEM, 3, 1, false },
	{ "hlt", GOP_HLT, 0, 0, false },
	{ "write_wait", GOP_WRITE_WAIT, 4, 1, false },
	{ "out_wait", GOP_OUT_WAIT, 4, 1, false },
};

static int parse_numbers(char *rest, uint64_t *num, int max)
{
	int n = 0;

	for (char *save = NULL, *tok = strtok_r(rest, " \t\r\n", &save); tok;
	     tok = strtok_r(NULL, " \t\r\n", &save)) {
		char *end;

		if (n == max)
			return -1;
		errno = 0;
		num[n++] = strtoull(tok, &end, 0);
		if (errno || *end)
			return -1;
	}
	return n;
}

static int parse_line(char *line, struct guest_op *op, uint64_t *expect)
{
	char *hash = strchr(line, '#'), *name, *rest;
	uint64_t num[5];
	int n;

	if (hash)
		*hash = '\0';
	name = strtok_r(line, " \t\r\n", &rest);
	if (!name)
		return 0;	/* blank */
	for (size_t i = 0; i < sizeof(syntax) / sizeof(syntax[0]); i++) {
		const struct op_syntax *s = &syntax[i];

		if (strcmp(name, s->name) != 0)
			continue;
		n = parse_numbers(rest, num, s->required + s->optional);
		if (n < s->required)
			return -1;
		*op = (struct guest_op){ .kind = s->kind, .count = 1 };
		*expect = UINT64_MAX;
		if (s->required >= 2) {
			op->addr = num[0];
			op->len = (uint32_t)num[1];
		}
		if (s->required >= 3)
			op->value = num[2];
		if (s->required == 4)
			op->arg = num[3];
		if (n > s->required && s->checks)
			*expect = num[n - 1];
		else if (n > s->required)
			op->count = num[n - 1];
		return 1;
	}
	return -1;
}

int vmm_load_script(struct vmm *m, const char *path)
{
	FILE *f = fopen(path, "re");
	char line[512];
	size_t cap = 0;
	int lineno = 0;

	if (!f) {
		fprintf(stderr, "iofd-vm: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		struct guest_op op;
		uint64_t expect;
		int r = parse_line(line, &op, &expect);

		lineno++;
		if (r < 0) {
			fprintf(stderr, "iofd-vm: %s:%d: cannot parse\n", path, lineno);
			fclose(f);
			return -1;
		}
		if (r == 0)
			continue;
		if (m->nops == cap) {
			cap = cap ? 2 * cap : 64;
			m->ops = realloc(m->ops, cap * sizeof(*m->ops));
			m->expect = realloc(m->expect, cap * sizeof(*m->expect));
			if (!m->ops || !m->expect) {
				fclose(f);
				return -1;
			}
		}
		m->ops[m->nops] = op;
		m->expect[m->nops++] = expect;
	}
	fclose(f);
	return 0;
}
