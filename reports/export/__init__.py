"""The dataset export: the whole record as a dated ZIP of JSON-lines or CSV tables with a README.

- `tables`: what is exported, table by table, with each field described (`TABLES`; a new table is one
  more entry there);
- `archive`: writing the tables into a ZIP whose bytes depend only on the record;
- `readme`: the README inside the ZIP, made from the tables' descriptions.
"""
