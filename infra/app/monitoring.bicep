// Log Analytics and Application Insights with local (key) auth off: ingestion needs an Entra token, which the
// app's identity gets through Monitoring Metrics Publisher.
param logAnalyticsName string
param applicationInsightsName string
param location string
param tags object
param principalId string

var monitoringMetricsPublisher = '3913510d-42f4-4e42-8a64-420c390055eb'

resource logAnalytics 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: logAnalyticsName
  location: location
  tags: tags
  properties: {
    retentionInDays: 30
    sku: {
      name: 'PerGB2018'
    }
    features: {
      disableLocalAuth: true
    }
  }
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: applicationInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logAnalytics.id
    DisableLocalAuth: true
  }
}

resource publisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(applicationInsights.id, principalId, monitoringMetricsPublisher)
  scope: applicationInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringMetricsPublisher)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

// The freshness alert (docs/freshness.md): an 'overdue' decision line is a deadline whose expected files did not
// come. Evaluated over the host's copy of each line (the classic logs), so it works whether or not the OpenTelemetry
// exporter is on; one alert per rule and folder. Attach an action group (portal or az) to be notified.
// One notification per line: a 15-minute window evaluated every 5 minutes sees a line up to three times, so actions
// are muted for the window's length after a firing (muteActionsDuration: one of 5, 10, 15, ... 2880 minutes, not
// below evaluationFrequency, and only with autoMitigate false: the service's own rules, docs/freshness.md).
var overdueQuery = '''
traces
| where message startswith "aml_trigger " and isnotempty(customDimensions.Category)
| extend d = parse_json(substring(message, strlen("aml_trigger ")))
| where tostring(d.outcome) == "overdue"
| project timestamp, rule = tostring(d.rule), folder = tostring(d.folder), deadline = tostring(d.deadline),
          files = toint(d.files), expected = toint(d.expected)
'''

resource freshnessOverdue 'Microsoft.Insights/scheduledQueryRules@2022-06-15' = {
  name: '${applicationInsightsName}-freshness-overdue'
  location: location
  tags: tags
  properties: {
    displayName: 'AML trigger: expected data is overdue'
    description: 'A freshness expectation got fewer new files than it expects by its deadline (decision line overdue).'
    severity: 2
    enabled: true
    scopes: [
      applicationInsights.id
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    muteActionsDuration: 'PT15M'
    autoMitigate: false
    criteria: {
      allOf: [
        {
          query: overdueQuery
          timeAggregation: 'Count'
          dimensions: [
            {
              name: 'rule'
              operator: 'Include'
              values: [
                '*'
              ]
            }
            {
              name: 'folder'
              operator: 'Include'
              values: [
                '*'
              ]
            }
          ]
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
  }
}

output applicationInsightsName string = applicationInsights.name
output logAnalyticsName string = logAnalytics.name
