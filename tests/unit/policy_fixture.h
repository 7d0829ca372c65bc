/* policy_fixture.h — load a policy from a string in unit tests: the
 * credentials CSV from memory, the time zone from the system database.
 * Fails the running cmocka test (printing the diagnostics) if it does not
 * load. */
#ifndef TESTS_POLICY_FIXTURE_H
#define TESTS_POLICY_FIXTURE_H

struct policy;

struct policy *fixture_policy_load(const char *text, const char *csv);

#endif
