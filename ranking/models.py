# Post tags, interest profiles and content-type weights arrive with the ranking work.
