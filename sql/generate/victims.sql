-- Every accepted victim row with the person's type and the DASH risk (chi calibrate).
select v.crime_id, v.person_id, p.person_type, v.dash_risk
from victims v join persons p using (person_id)
