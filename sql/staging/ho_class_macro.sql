-- norm_ho_class(text): a Home Office class/subclass in its canonical spelling CCC/SS, or null
-- when the text is not one. Forces write the same class several ways; all of these are 008/01:
-- '8/1', '08/01', '008/01', '8/01', ' 8 / 1 ', and the slash-less '00801'. The same rule in
-- Python is chi.offences.normal_ho_class (a test checks that the two agree).
create or replace macro norm_ho_class(x) as (
    case
        when regexp_full_match(trim(x), '0*([0-9]{1,3})\s*/\s*0*([0-9]{1,2})')
            then lpad(regexp_extract(trim(x), '^0*([0-9]{1,3})', 1), 3, '0') || '/'
            || lpad(regexp_extract(trim(x), '/\s*0*([0-9]{1,2})$', 1), 2, '0')
        when regexp_full_match(trim(x), '[0-9]{5}')
            then substr(trim(x), 1, 3) || '/' || substr(trim(x), 4, 2)
    end
)
