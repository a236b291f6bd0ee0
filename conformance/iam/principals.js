// Every AWS service principal the stack names, where it may appear, and the
// AWS (or upstream) documentation that says so. A principal that is not here,
// or here for another use, is a finding: a typo in a service principal is
// accepted by IAM and silently matches nobody.
//
//   trust:      a role trust policy may let it assume the role, with exactly
//               these actions;
//   resource:   resource policies of these services may grant it;
//   conditions: it may be a value of these condition keys.
export const servicePrincipals = {
  'pods.eks.amazonaws.com': {
    trust: ['sts:AssumeRole', 'sts:TagSession'],
    source: 'Amazon EKS User Guide, "Create IAM role with trust policy required by EKS Pod Identity", ' +
      'https://docs.aws.amazon.com/eks/latest/userguide/pod-id-role.html'
  },
  'ec2.amazonaws.com': {
    trust: ['sts:AssumeRole'],
    conditions: ['iam:PassedToService'],
    source: 'Amazon EKS User Guide, "Amazon EKS node IAM role", https://docs.aws.amazon.com/eks/latest/userguide/create-node-role.html'
  },
  'ec2.amazonaws.com.cn': {
    conditions: ['iam:PassedToService'],
    source: 'Karpenter v1.14 getting-started cloudformation.yaml (karpenter-provider-aws, ' +
      'website/content/en/v1.14/getting-started/getting-started-with-karpenter/cloudformation.yaml), ' +
      'statement AllowPassingInstanceRole: EC2 in the China partitions'
  },
  'spot.amazonaws.com': {
    conditions: ['iam:AWSServiceName'],
    source: 'Amazon EC2 User Guide, "Service-linked role for Spot Instance requests", ' +
      'https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/service-linked-roles-spot-instance-requests.html'
  },
  'events.amazonaws.com': {
    resource: ['sqs'],
    source: 'Amazon EventBridge User Guide, "Using resource-based policies for Amazon EventBridge", Amazon SQS permissions, ' +
      'https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sqs-permissions'
  },
  'sqs.amazonaws.com': {
    resource: ['sqs'],
    source: 'Karpenter v1.14 getting-started cloudformation.yaml, KarpenterInterruptionQueuePolicy: ' +
      'the interruption queue admits events.amazonaws.com and sqs.amazonaws.com'
  },
  'cloudwatch.amazonaws.com': {
    resource: ['sns', 'kms'],
    source: 'Amazon SNS Developer Guide, "Enable compatibility between event sources from AWS services and encrypted topics", ' +
      'https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services'
  },
  'aps.amazonaws.com': {
    resource: ['sns', 'kms'],
    source: 'Amazon Managed Service for Prometheus User Guide, "Giving Amazon Managed Service for Prometheus permission ' +
      'to send alert messages to your Amazon SNS topic", ' +
      'https://docs.aws.amazon.com/prometheus/latest/userguide/AMP-alertmanager-receiver-AMPpermission.html'
  }
}
