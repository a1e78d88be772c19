/* SPDX-License-Identifier: MIT */
/* The VMCB's TLB_CONTROL field (APM vol. 2 §15.16.1): what VMRUN flushes. */
#ifndef RV_SVM_TLB_CONTROL_H
#define RV_SVM_TLB_CONTROL_H

enum rv_svm_tlb_control {
	RV_TLB_CONTROL_NOTHING = 0,
	RV_TLB_CONTROL_ALL_ASIDS = 1,	    /* every ASID, globals too */
	RV_TLB_CONTROL_THIS_ASID = 3,	    /* the guest's ASID, globals too */
	RV_TLB_CONTROL_THIS_ASID_LOCAL = 7, /* the guest's ASID, non-global only */
};

#endif
