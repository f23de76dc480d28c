/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Entry of the guest runner, placed first at GUEST_CODE_GPA. The host sets
 * RSP to GUEST_STACK_TOP; the stack is realigned to 16 bytes all the same.
 */
	.section .text.entry, "ax"
	.globl _start
	.type _start, @function
_start:
	andq	$-16, %rsp
	call	runner_main
1:	hlt
	jmp	1b
	.size _start, . - _start
