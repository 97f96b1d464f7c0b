/* commands — the subcommands of the mintrace CLI; each returns the program's exit code. */
#ifndef MT_COMMANDS_H
#define MT_COMMANDS_H

int cmd_keygen(int argc, char **argv);
int cmd_registry(int argc, char **argv);
int cmd_topics(int argc, char **argv);
int cmd_emit(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_journal(int argc, char **argv);
int cmd_seal(int argc, char **argv);
int cmd_inventory(int argc, char **argv);
int cmd_simulate(int argc, char **argv);
int cmd_provenance(int argc, char **argv);
int cmd_lineage(int argc, char **argv);
int cmd_prove(int argc, char **argv);
int cmd_verify_proof(int argc, char **argv);
int cmd_passport(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_archive(int argc, char **argv);
int cmd_x_tamper(int argc, char **argv); /* test tool: not listed in the usage */

#endif
