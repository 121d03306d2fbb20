# Models arrive with this part of the KYC issue.
