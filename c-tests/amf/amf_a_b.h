/* amf_a_b.c: B.01.01 calls for amf_a.c (SaAisErrorT values as int). */
#ifndef AMF_A_B_H
#define AMF_A_B_H
int b_initialize(unsigned long long *handle, char release);
int b_selection_object(unsigned long long handle);
int b_finalize(unsigned long long handle);
#endif
