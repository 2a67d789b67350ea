// Package awsconf builds the AWS SDK configuration every weir AWS client shares (the default
// credential chain, region, endpoint overrides for local servers such as moto and kinesalite,
// for all services or per service, S3 path-style addressing) and the retry policy weir applies to AWS calls itself.
package awsconf
