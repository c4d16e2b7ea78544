"""Google Business Profile reviews, imported as mentions of kind "review"."""
