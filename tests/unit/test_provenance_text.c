/* test_provenance_text — a provenance record in words: shares as exact-rounded percentages. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "provenance_text.h"

/* Recycled shares, countries and the user-assigned codes come out as a reader expects. */
/* What mt_provenance_describe() prints for r, as a new string (free()). */
static char *describe(const Mintrace__V1__ProvenanceRecord *r) {
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    assert_non_null(fp);
    mt_provenance_describe(fp, r);
    fclose(fp);
    return buf;
}

static void test_describe_magnet(void **state) {
    (void)state;
    Mintrace__V1__CountryMass br = MINTRACE__V1__COUNTRY_MASS__INIT, in = MINTRACE__V1__COUNTRY_MASS__INIT,
                              xr = MINTRACE__V1__COUNTRY_MASS__INIT;
    br.country = "BR", br.mass_mg = 333;
    in.country = "IN", in.mass_mg = 567;
    xr.country = "XR", xr.mass_mg = 100;
    Mintrace__V1__CountryMass *ext[] = {&br, &in, &xr}, *proc[] = {&in};
    Mintrace__V1__ElementProvenance nd = MINTRACE__V1__ELEMENT_PROVENANCE__INIT, *els[] = {&nd};
    nd.element = "Nd";
    nd.total_mg = 1000;
    nd.recycled_pre_consumer_mg = 160;
    nd.recycled_post_consumer_mg = 100;
    nd.n_extraction = 3, nd.extraction = ext;
    nd.n_processing = 1, nd.processing = proc;
    Mintrace__V1__ProvenanceRecord r = MINTRACE__V1__PROVENANCE_RECORD__INIT;
    r.batch_id = "MAG-2";
    r.material = "sintered-NdFeB-magnet";
    r.holder_facility_id = "IN-MAG";
    r.mass_mg = 2500000;
    r.ledger_index = 9;
    r.n_elements = 1, r.elements = els;
    char *buf = describe(&r);
    assert_non_null(strstr(buf, "MAG-2  2.500 kg sintered-NdFeB-magnet, held by IN-MAG (as of ledger entry 9)"));
    assert_non_null(strstr(buf, "recycled 26.0 % (pre-consumer 16.0 %, post-consumer 10.0 %)"));
    assert_non_null(strstr(buf, "mined in BR 33.3 %, IN 56.7 %, unknown (recovered from untracked scrap) 10.0 %"));
    assert_non_null(strstr(buf, "processed in IN 56.7 %"));
    free(buf);
}

/* A record under mass balance shows the claim on a line of its own, labelled as allocated
 * credits, and labels the proportional figure physical. */
static void test_describe_mass_balance(void **state) {
    (void)state;
    Mintrace__V1__CountryMass in = MINTRACE__V1__COUNTRY_MASS__INIT, *c[] = {&in};
    in.country = "IN", in.mass_mg = 450;
    Mintrace__V1__ElementProvenance nd = MINTRACE__V1__ELEMENT_PROVENANCE__INIT, *els[] = {&nd};
    nd.element = "Nd";
    nd.total_mg = 450;
    nd.recycled_pre_consumer_mg = 90;
    nd.mass_balance_pre_consumer_mg = 180;
    nd.n_extraction = 1, nd.extraction = c;
    nd.n_processing = 1, nd.processing = c;
    Mintrace__V1__ProvenanceRecord r = MINTRACE__V1__PROVENANCE_RECORD__INIT;
    r.batch_id = "MAG-A";
    r.material = "magnet";
    r.holder_facility_id = "IN-MB";
    r.mass_mg = 500;
    r.mass_balance = 1;
    r.n_elements = 1, r.elements = els;
    char *buf = describe(&r);
    assert_non_null(strstr(buf, "recycled (physical) 20.0 % (pre-consumer 20.0 %, post-consumer 0.0 %)"));
    assert_non_null(strstr(buf, "recycled under mass balance 40.0 % (allocated credits, not physical; "
                                "pre-consumer 40.0 %, post-consumer 0.0 %)"));
    free(buf);
    /* without mass balance: no such line */
    r.mass_balance = 0;
    buf = describe(&r);
    assert_null(strstr(buf, "mass balance"));
    assert_null(strstr(buf, "physical"));
    free(buf);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_describe_magnet), cmocka_unit_test(test_describe_mass_balance)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
