// SPDX-License-Identifier: MIT
/*
 * The machine end to end: an ELF guest booted per the guest ABI on the
 * software CPU, in both executors, with its console and exit status.
 */
#include <stdio.h>
#include <string.h>

#include "helpers.h"
#include "machine/machine.h"

static const char *mini_path;
static uint8_t *image;
static size_t image_len;

static void read_image(void)
{
	FILE *f = fopen(mini_path, "rb");

	ck_assert_msg(f, "cannot open %s", mini_path);
	fseek(f, 0, SEEK_END);
	image_len = (size_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	image = malloc(image_len);
	ck_assert_uint_eq(fread(image, 1, image_len, f), image_len);
	fclose(f);
}

struct run {
	int rc;
	bool exited;
	uint32_t status;
	char *out;
};

static struct run boot(uint32_t vcpus, enum rv_executor exec, const uint8_t *img, size_t len)
{
	struct run r = { 0 };
	size_t out_len = 0;
	FILE *console = open_memstream(&r.out, &out_len);
	struct rv_machine_config mc = {
		.image = img,
		.image_len = len,
		.mem_size = 32 << 20,
		.nr_vcpus = vcpus,
		.console = console,
	};
	char err[256];
	struct rv_machine *m = rv_machine_create(&mc, err, sizeof(err));

	ck_assert_msg(m, "%s", err);
	struct rv_vm_config cfg = test_config(vcpus, 2, exec, 3);
	struct rv_vm *vm;

	cfg.backend = &rv_machine_backend;
	cfg.backend_ctx = m;
	ck_assert_int_eq(rv_vm_create(&cfg, &vm, err, sizeof(err)), 0);
	r.rc = rv_vm_run(vm);
	rv_machine_flush_console(vm);
	r.exited = rv_machine_exited(m, &r.status);
	rv_vm_destroy(vm);
	rv_machine_destroy(m);
	fclose(console);
	return r;
}

static void check_mini(uint32_t vcpus, enum rv_executor exec)
{
	struct run r = boot(vcpus, exec, image, image_len);
	char want[64];

	ck_assert_int_eq(r.rc, 0);
	ck_assert(r.exited);
	ck_assert_uint_eq(r.status, 0);
	for (uint32_t i = 0; i < vcpus; i++) {
		snprintf(want, sizeof(want), "vcpu %u\n", i);
		ck_assert_msg(strstr(r.out, want), "no \"vcpu %u\" in:\n%s", i, r.out);
	}
	snprintf(want, sizeof(want), "all %u\n", vcpus);
	ck_assert_msg(strstr(r.out, want), "no \"%s\" in:\n%s", want, r.out);
	free(r.out);
}

START_TEST(mini_guest_boots_on_every_vcpu_and_exits_zero)
{
	static const uint32_t counts[] = { 1, 2, 8 };

	read_image();
	for (unsigned k = 0; k < 3; k++) {
		check_mini(counts[k], RV_EXEC_THREADS);
		check_mini(counts[k], RV_EXEC_DETERMINISTIC);
	}
	free(image);
}
END_TEST

START_TEST(bad_image_is_refused_with_a_message)
{
	static const uint8_t junk[64] = "not an elf";
	struct rv_machine_config mc = {
		.image = junk, .image_len = sizeof(junk), .mem_size = 32 << 20, .nr_vcpus = 1
	};
	char err[256] = "";

	ck_assert_ptr_null(rv_machine_create(&mc, err, sizeof(err)));
	ck_assert_uint_gt(strlen(err), 0);
	mc.mem_size = (32 << 20) + 4096;
	ck_assert_ptr_null(rv_machine_create(&mc, err, sizeof(err)));
}
END_TEST

static Suite *machine_suite(void)
{
	Suite *s = suite_create("machine");
	TCase *tc = tcase_create("boot");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, mini_guest_boots_on_every_vcpu_and_exits_zero);
	tcase_add_test(tc, bad_image_is_refused_with_a_message);
	suite_add_tcase(s, tc);
	return s;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: test_machine MINI.ELF\n");
		return 2;
	}
	mini_path = argv[1];
	return run_suite(machine_suite());
}
