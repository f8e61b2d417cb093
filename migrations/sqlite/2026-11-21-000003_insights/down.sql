DROP TABLE qa_reviews;
DROP TABLE summaries;
