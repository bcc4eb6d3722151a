create index decisions_area_month on decisions (area, list_month)
