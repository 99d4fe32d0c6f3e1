/* Output shared by `scan` and `impact`: an inventory report (core/medical/inventory.h)
 * as text tables and as JSON members. Names and other strings from DICOM
 * headers are escaped for the terminal (cli_term_put); patient names are
 * never printed here. */
#ifndef MV_CLI_INVENTORY_OUT_H
#define MV_CLI_INVENTORY_OUT_H

#include <stdio.h>

#include "cli/json.h"
#include "core/medical/inventory.h"

/* JSON members of the open object: patients, studies, series, instances,
 * files, bytes, members, unidentified, dicomdirs, flagged, date_range
 * {first, last} (null when no valid StudyDate), modalities [..],
 * institutions [..], institutions_truncated, archives_with_dicom,
 * archives_unreadable, by_modality [{modality, files, bytes, instances,
 * series, studies}], by_year [{year (null: unknown), ...}]. */
void cli_inv_json(struct cli_json *j, const struct mv_inv_report *r);

/* "CT, MR, DX" (escaped; "(none)" when empty) on f. */
void cli_inv_print_modalities(FILE *f, const struct mv_inv_report *r);

/* The by-modality and by-year tables, indented by two spaces. */
void cli_inv_print_tables(FILE *f, const struct mv_inv_report *r);

/* The list of patients (with MV_INV_KEEP_PATIENTS): name, ID, birth date,
 * sex, studies, instances; escaped. */
void cli_inv_print_patients(FILE *f, const struct mv_inv_report *r);
void cli_inv_json_patients(struct cli_json *j, const struct mv_inv_report *r);

#endif
