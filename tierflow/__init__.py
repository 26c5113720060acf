"""tierflow: client tiers, AUM migration, churn and retention for retail banks."""
