-- Migration 2: area meeting decisions (chi.meetings.decisions): versions append, never change.
create table decisions (
    id integer primary key autoincrement,
    subject_type text not null check (subject_type in ('victim', 'offender')),
    person_id text not null,
    list_month text not null,
    area text not null,
    version integer not null check (version >= 1),
    meeting_date text not null,
    decision text not null,
    service text not null default '',
    engagement_start text,
    engagement_end text,
    notes text not null default '',
    owner text not null default '',
    review_date text,
    recorded_by text not null,
    recorded_at text not null,
    source text not null default 'app',
    unique (subject_type, person_id, version)
)
