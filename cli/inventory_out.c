#include "cli/inventory_out.h"

#include <stdlib.h>
#include <string.h>

#include "cli/output.h"

static void json_bucket(struct cli_json *j, const struct mv_inv_bucket *b)
{
	cli_json_u64(j, "files", b->files);
	cli_json_u64(j, "bytes", b->bytes);
	cli_json_u64(j, "instances", b->instances);
	cli_json_u64(j, "series", b->series);
	cli_json_u64(j, "studies", b->studies);
}

void cli_inv_json(struct cli_json *j, const struct mv_inv_report *r)
{
	cli_json_u64(j, "patients", r->patients);
	cli_json_u64(j, "studies", r->studies);
	cli_json_u64(j, "series", r->series);
	cli_json_u64(j, "instances", r->instances);
	cli_json_u64(j, "files", r->files);
	cli_json_u64(j, "bytes", r->bytes);
	cli_json_u64(j, "members", r->members);
	cli_json_u64(j, "unidentified", r->unidentified);
	cli_json_u64(j, "dicomdirs", r->dicomdirs);
	cli_json_u64(j, "flagged", r->flagged);
	if (r->first_date[0]) {
		cli_json_begin_object(j, "date_range");
		cli_json_str(j, "first", r->first_date);
		cli_json_str(j, "last", r->last_date);
		cli_json_end_object(j);
	} else {
		cli_json_str(j, "date_range", NULL);
	}
	cli_json_begin_array(j, "modalities");
	for (size_t i = 0; i < r->nmodalities; i++)
		if (r->modalities[i].name[0])
			cli_json_str(j, NULL, r->modalities[i].name);
	cli_json_end_array(j);
	cli_json_begin_array(j, "institutions");
	for (size_t i = 0; i < r->ninstitutions; i++)
		cli_json_str(j, NULL, r->institutions[i]);
	cli_json_end_array(j);
	cli_json_bool(j, "institutions_truncated", r->institutions_truncated);
	cli_json_u64(j, "archives_with_dicom", r->archives_dicom);
	cli_json_u64(j, "archives_unreadable", r->archives_unreadable);
	cli_json_begin_array(j, "by_modality");
	for (size_t i = 0; i < r->nmodalities; i++) {
		cli_json_begin_object(j, NULL);
		cli_json_str(j, "modality", r->modalities[i].name);
		json_bucket(j, &r->modalities[i].b);
		cli_json_end_object(j);
	}
	cli_json_end_array(j);
	cli_json_begin_array(j, "by_year");
	for (size_t i = 0; i < r->nyears; i++) {
		cli_json_begin_object(j, NULL);
		if (r->years[i].year)
			cli_json_u64(j, "year", (uint64_t)r->years[i].year);
		else
			cli_json_str(j, "year", NULL);
		json_bucket(j, &r->years[i].b);
		cli_json_end_object(j);
	}
	cli_json_end_array(j);
}

void cli_inv_print_modalities(FILE *f, const struct mv_inv_report *r)
{
	int any = 0;
	for (size_t i = 0; i < r->nmodalities; i++) {
		const char *m = r->modalities[i].name;
		if (!m[0])
			continue;
		if (any)
			fputs(", ", f);
		cli_term_put(f, m, strlen(m));
		any = 1;
	}
	if (!any)
		fputs("(none)", f);
}

static void bucket_row(FILE *f, const char *label, const struct mv_inv_bucket *b)
{
	char sz[CLI_FMT_LEN];
	char *esc = cli_term_dup(label, strlen(label));
	const char *l = esc ? esc : "?";
	size_t w = cli_term_width(l);

	fprintf(f, "  %s", l);
	for (; w < 10; w++)
		fputc(' ', f);
	fprintf(f, " %9llu %10llu %8llu %8llu %12s\n", (unsigned long long)b->files,
	        (unsigned long long)b->instances, (unsigned long long)b->series,
	        (unsigned long long)b->studies, cli_fmt_bytes(b->bytes, sz));
	free(esc);
}

void cli_inv_print_tables(FILE *f, const struct mv_inv_report *r)
{
	char year[16];

	if (r->nmodalities) {
		fprintf(f, "  %-10s %9s %10s %8s %8s %12s\n", "Modality", "Files", "Instances",
		        "Series", "Studies", "Size");
		for (size_t i = 0; i < r->nmodalities; i++)
			bucket_row(f, r->modalities[i].name[0] ? r->modalities[i].name : "(none)",
			           &r->modalities[i].b);
		fputc('\n', f);
	}
	if (r->nyears) {
		fprintf(f, "  %-10s %9s %10s %8s %8s %12s\n", "Year", "Files", "Instances",
		        "Series", "Studies", "Size");
		for (size_t i = 0; i < r->nyears; i++) {
			if (r->years[i].year)
				snprintf(year, sizeof(year), "%d", r->years[i].year);
			else
				snprintf(year, sizeof(year), "unknown");
			bucket_row(f, year, &r->years[i].b);
		}
	}
}

static void put_cell(FILE *f, const char *s, size_t width)
{
	char *esc = cli_term_dup(s, strlen(s));
	const char *e = esc ? esc : "?";
	size_t w = cli_term_width(e);
	fputs(e, f);
	for (; w < width; w++)
		fputc(' ', f);
	fputs("  ", f);
	free(esc);
}

void cli_inv_print_patients(FILE *f, const struct mv_inv_report *r)
{
	fprintf(f, "  %-32s  %-16s  %-10s  %-3s  %7s  %9s\n", "Name", "Patient ID", "Birth date",
	        "Sex", "Studies", "Instances");
	for (size_t i = 0; i < r->npatient_list; i++) {
		const struct mv_inv_patient *p = &r->patient_list[i];
		char bd[11];
		fputs("  ", f);
		put_cell(f, p->name, 32);
		put_cell(f, p->id, 16);
		put_cell(f, mv_inventory_date(p->birth_date, bd) ? bd : p->birth_date, 10);
		put_cell(f, p->sex, 3);
		fprintf(f, "%7llu  %9llu\n", (unsigned long long)p->studies,
		        (unsigned long long)p->instances);
	}
}

void cli_inv_json_patients(struct cli_json *j, const struct mv_inv_report *r)
{
	cli_json_begin_array(j, "patient_list");
	for (size_t i = 0; i < r->npatient_list; i++) {
		const struct mv_inv_patient *p = &r->patient_list[i];
		cli_json_begin_object(j, NULL);
		cli_json_str(j, "name", p->name);
		cli_json_str(j, "patient_id", p->id);
		cli_json_str(j, "birth_date", p->birth_date);
		cli_json_str(j, "sex", p->sex);
		cli_json_u64(j, "studies", p->studies);
		cli_json_u64(j, "instances", p->instances);
		cli_json_end_object(j);
	}
	cli_json_end_array(j);
}
